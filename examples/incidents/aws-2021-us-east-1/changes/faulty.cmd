# The automated scaling activity: main-service goes from 10 to 30 running
# instances at once (launched two minutes later). Every new instance adds
# its stream of connections to the internal network's monitoring, across the
# border devices.
scale service main-service min=30
