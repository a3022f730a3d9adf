# The maintenance event as meant: one cluster in one data centre (us-east4-a)
# has its network control plane jobs descheduled; the links it programs stop
# carrying traffic and the other three carry the data centre's share.
drain links cp=use4-a-c1
