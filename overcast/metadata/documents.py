"""The EC2 and OpenStack metadata documents of one instance, built from its facts.

The EC2 side is a tree: a dict is a directory (listed one entry a line, subdirectories with a
trailing slash), a string a file. The OpenStack side is a few JSON files. Both the metadata
server and the config drive use these.
"""

from __future__ import annotations

import json
from typing import Union

from overcast.metadata.facts import InstanceFacts

Tree = dict[str, Union[str, "Tree"]]
EC2_VERSIONS = ("1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15",
                "2008-02-01", "2008-09-01", "2009-04-04", "2011-01-01", "2011-05-01",
                "2012-01-12", "2014-02-25", "2014-11-05", "2015-10-20", "2016-04-19",
                "2016-06-30", "2016-09-02", "2018-03-28", "2018-08-17", "2018-09-24",
                "2019-10-01", "2020-10-27", "2021-01-03", "2021-03-23", "2021-07-15",
                "2022-09-24", "2024-04-11", "latest")
OPENSTACK_VERSIONS = ("2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30",
                      "2016-10-06", "2017-02-22", "2018-08-27", "2020-10-14", "latest")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _interface(facts: InstanceFacts) -> Tree:
    return {
        "device-number": "0",
        "interface-id": "eni-" + facts.instance_id[2:],
        "local-hostname": facts.local_hostname,
        "local-ipv4s": facts.private_ip,
        "mac": facts.mac,
        "owner-id": facts.account_id,
        "public-ipv4s": facts.public_ip,
        "security-groups": "\n".join(facts.security_groups),
        "subnet-ipv4-cidr-block": facts.subnet_cidr,
    }


def ec2_meta_data(facts: InstanceFacts) -> Tree:
    tree: Tree = {
        "ami-id": facts.image_id,
        "ami-launch-index": str(facts.launch_index),
        "ami-manifest-path": "(unknown)",
        "block-device-mapping": {"ami": "/dev/vda", "root": "/dev/vda"},
        "hostname": facts.local_hostname,
        "instance-action": "none",
        "instance-id": facts.instance_id,
        "instance-life-cycle": "on-demand",
        "instance-type": facts.instance_type,
        "local-hostname": facts.local_hostname,
        "local-ipv4": facts.private_ip,
        "mac": facts.mac,
        "network": {"interfaces": {"macs": {facts.mac: _interface(facts)}}},
        "placement": {"availability-zone": facts.availability_zone, "region": facts.region},
        "reservation-id": facts.reservation_id,
        "security-groups": "\n".join(facts.security_groups),
        "services": {"domain": "amazonaws.com", "partition": "aws"},
    }
    if facts.public_ip:
        tree["public-ipv4"] = facts.public_ip
        tree["public-hostname"] = facts.public_ip
    if facts.public_key and facts.key_name:
        tree["public-keys"] = {f"0={facts.key_name}": {"openssh-key": facts.public_key}}
    if facts.options.instance_tags == "enabled":
        tree["tags"] = {"instance": dict(facts.tags)}
    return tree


def identity_document(facts: InstanceFacts) -> str:
    doc = {
        "accountId": facts.account_id, "architecture": "x86_64",
        "availabilityZone": facts.availability_zone, "billingProducts": None,
        "devpayProductCodes": None, "marketplaceProductCodes": None,
        "imageId": facts.image_id, "instanceId": facts.instance_id,
        "instanceType": facts.instance_type, "kernelId": None, "ramdiskId": None,
        "pendingTime": facts.launch_time.strftime(TIME_FORMAT),
        "privateIp": facts.private_ip, "region": facts.region, "version": "2017-09-30",
    }
    return json.dumps(doc, indent=2)


def ec2_version_tree(facts: InstanceFacts) -> Tree:
    """One version's root: meta-data/, dynamic/ and (when there is any) user-data."""
    tree: Tree = {
        "meta-data": ec2_meta_data(facts),
        "dynamic": {"instance-identity": {"document": identity_document(facts)}},
    }
    if facts.user_data:
        tree["user-data"] = facts.user_data.decode("utf-8", "surrogateescape")
    return tree


def openstack_meta_data(facts: InstanceFacts) -> dict:
    keys = {facts.key_name: facts.public_key} if facts.key_name and facts.public_key else {}
    return {
        "uuid": facts.uuid, "name": facts.instance_id, "hostname": facts.local_hostname,
        "availability_zone": facts.availability_zone, "project_id": facts.project_id,
        "launch_index": facts.launch_index, "public_keys": keys,
        "keys": [{"name": name, "type": "ssh", "data": data} for name, data in keys.items()],
        "meta": dict(facts.tags) if facts.options.instance_tags == "enabled" else {},
        "devices": [],
    }


def network_data(facts: InstanceFacts) -> dict:
    """One NIC that takes its (IPAM-assigned) address over DHCP."""
    return {
        "links": [{"id": "tap0", "type": "phy", "ethernet_mac_address": facts.mac,
                   "mtu": 1500}],
        "networks": [{"id": "network0", "type": "ipv4_dhcp", "link": "tap0",
                      "network_id": facts.subnet_cidr}],
        "services": [],
    }


def openstack_files(facts: InstanceFacts) -> dict[str, bytes]:
    """The files under openstack/<version>/, keyed by name."""
    files = {
        "meta_data.json": json.dumps(openstack_meta_data(facts)).encode(),
        "network_data.json": json.dumps(network_data(facts)).encode(),
        "vendor_data.json": b"{}",
        "vendor_data2.json": b"{}",
    }
    if facts.user_data:
        files["user_data"] = facts.user_data
    return files


def config_drive_files(facts: InstanceFacts) -> dict[str, bytes]:
    """An OpenStack-layout config drive: openstack/{latest,2012-08-10}/ and ec2/latest/."""
    files: dict[str, bytes] = {}
    for version in ("latest", "2012-08-10"):
        for name, data in openstack_files(facts).items():
            files[f"openstack/{version}/{name}"] = data
    ec2 = ec2_meta_data(facts)
    files["ec2/latest/meta-data.json"] = json.dumps(_flatten_json(ec2)).encode()
    if facts.user_data:
        files["ec2/latest/user-data"] = facts.user_data
    return files


def _flatten_json(tree: Tree) -> dict:
    return {k: (_flatten_json(v) if isinstance(v, dict) else v) for k, v in tree.items()}


def listing(tree: Tree) -> str:
    """Directory entries a line each; subdirectories end in `/`, except `0=name` as EC2 does."""
    return "\n".join(f"{k}/" if isinstance(v, dict) and "=" not in k else k
                     for k, v in tree.items())


def lookup(tree: Tree, parts: list[str]) -> str | Tree | None:
    """The file or directory at `parts` below `tree`; for public-keys, `0` names `0=name`."""
    node: str | Tree = tree
    for part in parts:
        if not isinstance(node, dict):
            return None
        if part not in node:
            part = next((k for k in node if k.split("=", 1)[0] == part and "=" in k), part)
        if part not in node:
            return None
        node = node[part]
    return node
