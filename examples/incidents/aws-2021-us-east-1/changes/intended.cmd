# A scaling step the border devices can carry: from 10 to 12 instances.
scale service main-service min=12
