# Routine backbone maintenance as meant: take one backbone link (one of the
# two transatlantic cables) out of service; the ring carries its traffic.
drain link bb1.prn--bb1.lla
