# The playbook step as meant: take two hosts of the billing subsystem out
# of the legacy fleet.
remove instances fleet=s3-legacy service=billing count=2
