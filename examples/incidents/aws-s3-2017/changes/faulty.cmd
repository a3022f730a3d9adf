# The same playbook step with its inputs entered wrongly: the subsystem left
# out and 20 hosts instead of 2, which takes the first 20 hosts of the fleet
# in rack order, most of them index and placement hosts.
remove instances fleet=s3-legacy count=20
