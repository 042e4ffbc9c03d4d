"""The service layer: what every face calls (service.Cloud wires it together).

Shared by every wing: filters.py (Describe filters and paging) and tags.py. One package per
wing, its public names in its __init__: compute/ (instances and what makes and runs them),
network/ (VPCs, subnets, security groups, interfaces, public and Elastic IPs), images/
(images, Glance's attributes, members, quotas, store, uploads, metadefs), storage/
(root volumes, EBS volumes, attachments, snapshots). What leaves the layer is frozen records
and views, never ORM rows (the wings' records.py and views.py). The wings import each other
without circles: storage over compute, compute over network and images (.importlinter).
"""
