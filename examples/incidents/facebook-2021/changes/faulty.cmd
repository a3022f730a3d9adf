# The maintenance command as it ran: instead of assessing the backbone's
# capacity, it took every backbone connection down at once, between the
# data centres and between the data centres and the PoPs.
shutdown links type=backbone
