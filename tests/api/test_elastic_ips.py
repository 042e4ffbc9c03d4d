"""Elastic IPs through boto3: allocate, associate, disassociate, release, describe; their
errors, tenancy and quota; what an associated instance shows."""

from __future__ import annotations

import ipaddress
import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from overcast.agent.store import LocalStore
from overcast.cloud.compute.launch import RunRequest
from overcast.cloud.network.eip_associations import AssociateRequest
from overcast.cloud.network.group_rules import Permission
from overcast.drivers.base import HostCapacity
from overcast.metadata.documents import ec2_meta_data
from tests.conftest import RunningCloud, in_process_cloud, wait_for_state

POOL = ipaddress.ip_network("127.101.0.0/16")
AUTO_POOL = ipaddress.ip_network("127.100.0.0/16")


def _code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


def _fails(code: str, call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as exc:
        call(*args, **kwargs)
    assert _code(exc) == code, exc.value.response["Error"]
    return exc.value.response["Error"]["Message"]


@pytest.fixture(scope="module")
def net(cloud: RunningCloud):
    cloud.overcast("project", "create", "eip-tests")
    cloud.overcast("project", "set-quota", "eip-tests", "--elastic-ips", "20")
    return cloud.client(cloud.project_credentials("eip-tests"))


@pytest.fixture(scope="module")
def other(cloud: RunningCloud):
    cloud.overcast("project", "create", "eip-others")
    return cloud.client(cloud.project_credentials("eip-others"))


def _launch(client, count: int = 1) -> list[dict]:
    image = client.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ids = [i["InstanceId"] for i in client.run_instances(
        ImageId=image, MinCount=count, MaxCount=count)["Instances"]]
    return wait_for_state(client, ids, "running")


def _instance(client, iid: str) -> dict:
    return client.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]


def _address(client, allocation_id: str) -> dict:
    return client.describe_addresses(AllocationIds=[allocation_id])["Addresses"][0]


def test_allocate_describe_tag_release(net) -> None:
    made = net.allocate_address(Domain="vpc", TagSpecifications=[
        {"ResourceType": "elastic-ip", "Tags": [{"Key": "Name", "Value": "web"}]}])
    assert ipaddress.ip_address(made["PublicIp"]) in POOL
    assert made["Domain"] == "vpc" and made["AllocationId"].startswith("eipalloc-")
    other = net.allocate_address()
    assert other["PublicIp"] != made["PublicIp"]
    found = _address(net, made["AllocationId"])
    assert found["PublicIp"] == made["PublicIp"] and found["Tags"] == [
        {"Key": "Name", "Value": "web"}]
    assert "AssociationId" not in found and "InstanceId" not in found
    by_ip = net.describe_addresses(PublicIps=[other["PublicIp"]])["Addresses"]
    assert [a["AllocationId"] for a in by_ip] == [other["AllocationId"]]
    both = net.describe_addresses(PublicIps=[other["PublicIp"]],
                                  AllocationIds=[made["AllocationId"]])["Addresses"]
    assert {a["AllocationId"] for a in both} == {made["AllocationId"], other["AllocationId"]}
    for name, values, expected in [
            ("tag:Name", ["w*"], [made]), ("tag-key", ["Name"], [made]),
            ("public-ip", [other["PublicIp"]], [other]), ("domain", ["vpc"], [made, other]),
            ("allocation-id", [made["AllocationId"]], [made]),
            ("public-ipv4-pool", ["amazon"], [made, other]), ("instance-id", ["i-*"], [])]:
        seen = {a["AllocationId"] for a in net.describe_addresses(
            AllocationIds=[made["AllocationId"], other["AllocationId"]],
            Filters=[{"Name": name, "Values": values}])["Addresses"]}
        assert seen == {a["AllocationId"] for a in expected}, name
    net.create_tags(Resources=[other["AllocationId"]], Tags=[{"Key": "team", "Value": "b"}])
    assert _address(net, other["AllocationId"])["Tags"] == [{"Key": "team", "Value": "b"}]
    attrs = net.describe_addresses_attribute(AllocationIds=[made["AllocationId"]],
                                             Attribute="domain-name")["Addresses"]
    assert attrs == [{"AllocationId": made["AllocationId"], "PublicIp": made["PublicIp"]}]
    for allocation in (made, other):
        net.release_address(AllocationId=allocation["AllocationId"])
    _fails("InvalidAllocationID.NotFound", net.describe_addresses,
           AllocationIds=[made["AllocationId"]])
    _fails("InvalidAllocationID.NotFound", net.release_address,
           AllocationId=made["AllocationId"])
    assert net.describe_tags(Filters=[{"Name": "resource-id", "Values": [
        made["AllocationId"], other["AllocationId"]]}])["Tags"] == []


def test_bad_requests(net) -> None:
    _fails("InvalidAllocationID.Malformed", net.describe_addresses, AllocationIds=["eip-1"])
    _fails("InvalidAddress.NotFound", net.describe_addresses, PublicIps=["127.101.250.250"])
    _fails("InvalidParameterValue", net.describe_addresses, PublicIps=["invalidIp"])
    _fails("InvalidParameterValue", net.describe_addresses,
           Filters=[{"Name": "no-such-filter", "Values": ["x"]}])
    _fails("InvalidParameterValue", net.allocate_address, Domain="standard")
    _fails("InvalidParameterValue", net.allocate_address, Address="10.0.0.1")
    _fails("InvalidParameterValue", net.allocate_address, Address="not-an-ip")
    _fails("InvalidPublicIpv4PoolID.NotFound", net.allocate_address, PublicIpv4Pool="ipv4pool-1")
    _fails("DryRunOperation", net.allocate_address, DryRun=True)
    assert net.describe_addresses()["Addresses"] == []  # neither made an address
    _fails("InvalidParameterValue", net.allocate_address, TagSpecifications=[
        {"ResourceType": "elastic-ip", "Tags": [{"Key": "aws:x", "Value": "y"}]}])
    assert net.describe_addresses()["Addresses"] == []
    wanted = net.allocate_address(Address="127.101.200.7")
    assert wanted["PublicIp"] == "127.101.200.7"
    _fails("InvalidIPAddress.InUse", net.allocate_address, Address="127.101.200.7")
    _fails("MissingParameter", net.release_address)
    _fails("AuthFailure", net.release_address, PublicIp="127.101.200.8")  # no one's
    # a VPC address is released by its allocation ID, as in EC2
    _fails("InvalidParameterValue", net.release_address, PublicIp="127.101.200.7")
    _fails("InvalidParameterCombination", net.release_address, PublicIp="127.101.200.7",
           AllocationId=wanted["AllocationId"])
    _fails("DryRunOperation", net.release_address, AllocationId=wanted["AllocationId"],
           DryRun=True)
    net.release_address(AllocationId=wanted["AllocationId"])
    assert net.describe_addresses()["Addresses"] == []


def test_associate_moves_the_public_ip(cloud: RunningCloud, net) -> None:
    first, second = _launch(net, 2)
    auto = first["PublicIpAddress"]
    assert ipaddress.ip_address(auto) in AUTO_POOL
    eip = net.allocate_address()
    assoc = net.associate_address(AllocationId=eip["AllocationId"],
                                  InstanceId=first["InstanceId"])["AssociationId"]
    assert assoc.startswith("eipassoc-")
    shown = _instance(net, first["InstanceId"])
    assert shown["PublicIpAddress"] == eip["PublicIp"]
    assert shown["NetworkInterfaces"][0]["Association"]["PublicIp"] == eip["PublicIp"]
    eni = shown["NetworkInterfaces"][0]["NetworkInterfaceId"]
    address = _address(net, eip["AllocationId"])
    assert (address["AssociationId"], address["InstanceId"], address["NetworkInterfaceId"],
            address["PrivateIpAddress"]) == (assoc, first["InstanceId"], eni,
                                             first["PrivateIpAddress"])
    for name, value in [("instance-id", first["InstanceId"]), ("association-id", assoc),
                        ("network-interface-id", eni),
                        ("private-ip-address", first["PrivateIpAddress"])]:
        assert [a["AllocationId"] for a in net.describe_addresses(
            Filters=[{"Name": name, "Values": [value]}])["Addresses"]] == [eip["AllocationId"]]
    assert net.describe_instances(Filters=[{"Name": "ip-address", "Values": [
        eip["PublicIp"]]}])["Reservations"][0]["Instances"][0]["InstanceId"] == \
        first["InstanceId"]
    # the same association again changes nothing
    assert net.associate_address(AllocationId=eip["AllocationId"],
                                 InstanceId=first["InstanceId"])["AssociationId"] == assoc
    _fails("InvalidIPAddress.InUse", net.release_address, AllocationId=eip["AllocationId"])
    # by the interface, onto the second instance: reassociation is automatic
    _fails("Resource.AlreadyAssociated", net.associate_address,
           AllocationId=eip["AllocationId"], InstanceId=second["InstanceId"],
           AllowReassociation=False)
    moved = net.associate_address(
        AllocationId=eip["AllocationId"],
        NetworkInterfaceId=second["NetworkInterfaces"][0]["NetworkInterfaceId"],
        PrivateIpAddress=second["PrivateIpAddress"])["AssociationId"]
    assert moved != assoc
    assert _instance(net, second["InstanceId"])["PublicIpAddress"] == eip["PublicIp"]
    refilled = _instance(net, first["InstanceId"])["PublicIpAddress"]
    assert ipaddress.ip_address(refilled) in AUTO_POOL
    _fails("InvalidAssociationID.NotFound", net.disassociate_address, AssociationId=assoc)
    # a second address on the same instance takes the place of the first
    eip2 = net.allocate_address()
    assoc2 = net.associate_address(AllocationId=eip2["AllocationId"],
                                   InstanceId=second["InstanceId"])["AssociationId"]
    assert "AssociationId" not in _address(net, eip["AllocationId"])
    assert _instance(net, second["InstanceId"])["PublicIpAddress"] == eip2["PublicIp"]
    # disassociating (by association ID: a VPC address's public IP is EC2-Classic's way)
    # gives a fresh auto-assigned address
    _fails("InvalidParameterValue", net.disassociate_address, PublicIp=eip2["PublicIp"])
    net.disassociate_address(AssociationId=assoc2)
    fresh = _instance(net, second["InstanceId"])["PublicIpAddress"]
    assert ipaddress.ip_address(fresh) in AUTO_POOL
    assert "AssociationId" not in _address(net, eip2["AllocationId"])
    # terminating disassociates; the address stays allocated
    net.associate_address(AllocationId=eip["AllocationId"], InstanceId=first["InstanceId"])
    net.terminate_instances(InstanceIds=[first["InstanceId"], second["InstanceId"]])
    wait_for_state(net, [first["InstanceId"], second["InstanceId"]], "terminated")
    left = _address(net, eip["AllocationId"])
    assert "AssociationId" not in left and "InstanceId" not in left
    _fails("IncorrectInstanceState", net.associate_address,
           AllocationId=eip["AllocationId"], InstanceId=first["InstanceId"])
    for allocation in (eip, eip2):
        net.release_address(AllocationId=allocation["AllocationId"])


def test_association_errors(net) -> None:
    (instance,) = _launch(net)
    iid = instance["InstanceId"]
    eip = net.allocate_address()
    alloc = eip["AllocationId"]
    _fails("MissingParameter", net.associate_address, AllocationId=alloc)
    _fails("InvalidParameterCombination", net.associate_address, AllocationId=alloc,
           InstanceId=iid, NetworkInterfaceId="eni-0123456789abcdef0")
    _fails("MissingParameter", net.associate_address, InstanceId=iid)
    _fails("InvalidAllocationID.NotFound", net.associate_address,
           AllocationId="eipalloc-0123456789abcdef0", InstanceId=iid)
    _fails("InvalidInstanceID.NotFound", net.associate_address, AllocationId=alloc,
           InstanceId="i-0123456789abcdef0")
    _fails("InvalidInstanceID.Malformed", net.associate_address, AllocationId=alloc,
           InstanceId="instance-1")
    _fails("InvalidNetworkInterfaceID.NotFound", net.associate_address, AllocationId=alloc,
           NetworkInterfaceId="eni-0123456789abcdef0")
    _fails("InvalidParameterValue", net.associate_address, AllocationId=alloc,
           InstanceId=iid, PrivateIpAddress="172.31.15.250")
    _fails("DryRunOperation", net.associate_address, AllocationId=alloc, InstanceId=iid,
           DryRun=True)
    assert "AssociationId" not in _address(net, alloc)
    _fails("InvalidAssociationID.Malformed", net.disassociate_address, AssociationId="x-1")
    _fails("InvalidAssociationID.NotFound", net.disassociate_address,
           AssociationId="eipassoc-0123456789abcdef0")
    _fails("MissingParameter", net.disassociate_address)
    # an interface attached to nothing holds the address; deleting it lets go
    subnet = net.describe_subnets()["Subnets"][0]["SubnetId"]
    eni = net.create_network_interface(SubnetId=subnet)["NetworkInterface"]
    net.associate_address(AllocationId=alloc, NetworkInterfaceId=eni["NetworkInterfaceId"])
    held = _address(net, alloc)
    assert (held["NetworkInterfaceId"], held["PrivateIpAddress"]) == (
        eni["NetworkInterfaceId"], eni["PrivateIpAddress"]) and "InstanceId" not in held
    net.delete_network_interface(NetworkInterfaceId=eni["NetworkInterfaceId"])
    assert "AssociationId" not in _address(net, alloc)
    net.release_address(AllocationId=alloc)
    net.terminate_instances(InstanceIds=[iid])


def test_another_project_cannot_see_use_or_release(net, other) -> None:
    (mine,) = _launch(net)
    (theirs,) = _launch(other)
    eip = net.allocate_address()
    alloc, ip = eip["AllocationId"], eip["PublicIp"]
    assoc = net.associate_address(AllocationId=alloc, InstanceId=mine["InstanceId"])[
        "AssociationId"]
    assert other.describe_addresses()["Addresses"] == []
    assert other.describe_addresses(Filters=[{"Name": "public-ip", "Values": [ip]}])[
        "Addresses"] == []
    _fails("InvalidAllocationID.NotFound", other.describe_addresses, AllocationIds=[alloc])
    _fails("InvalidAddress.NotFound", other.describe_addresses, PublicIps=[ip])
    _fails("InvalidAllocationID.NotFound", other.associate_address, AllocationId=alloc,
           InstanceId=theirs["InstanceId"])
    _fails("AuthFailure", other.associate_address, PublicIp=ip,
           InstanceId=theirs["InstanceId"])
    _fails("InvalidAllocationID.NotFound", other.release_address, AllocationId=alloc)
    _fails("AuthFailure", other.release_address, PublicIp=ip)
    _fails("InvalidAssociationID.NotFound", other.disassociate_address, AssociationId=assoc)
    _fails("AuthFailure", other.disassociate_address, PublicIp=ip)
    _fails("InvalidID.NotFound", other.create_tags, Resources=[alloc],
           Tags=[{"Key": "k", "Value": "v"}])
    # nor can my address go onto their instance, or theirs onto mine
    _fails("InvalidInstanceID.NotFound", net.associate_address, AllocationId=alloc,
           InstanceId=theirs["InstanceId"])
    _fails("InvalidNetworkInterfaceID.NotFound", net.associate_address, AllocationId=alloc,
           NetworkInterfaceId=theirs["NetworkInterfaces"][0]["NetworkInterfaceId"])
    assert _address(net, alloc)["AssociationId"] == assoc
    assert _instance(net, mine["InstanceId"])["PublicIpAddress"] == ip
    net.disassociate_address(AssociationId=assoc)
    net.release_address(AllocationId=alloc)
    net.terminate_instances(InstanceIds=[mine["InstanceId"]])
    other.terminate_instances(InstanceIds=[theirs["InstanceId"]])


def test_quota(cloud: RunningCloud) -> None:
    cloud.overcast("project", "create", "eip-quota")
    client = cloud.client(cloud.project_credentials("eip-quota"))
    limit = client.describe_account_attributes(AttributeNames=["vpc-max-elastic-ips"])
    assert limit["AccountAttributes"][0]["AttributeValues"] == [{"AttributeValue": "5"}]
    made = [client.allocate_address()["AllocationId"] for _ in range(5)]
    message = _fails("AddressLimitExceeded", client.allocate_address)
    assert "maximum number of addresses" in message
    _fails("AddressLimitExceeded", client.allocate_address, DryRun=True)
    assert len(client.describe_addresses()["Addresses"]) == 5
    cloud.overcast("project", "set-quota", "eip-quota", "--elastic-ips", "6")
    made.append(client.allocate_address()["AllocationId"])
    _fails("AddressLimitExceeded", client.allocate_address)
    client.release_address(AllocationId=made.pop())
    made.append(client.allocate_address()["AllocationId"])
    for allocation_id in made:
        client.release_address(AllocationId=allocation_id)


def test_agent_and_metadata_see_the_elastic_ip(tmp_path: Path) -> None:
    """In-process: the driver's NetworkSpec forwards the open ports on the Elastic IP, and the
    metadata service names it; after disassociation, on a fresh auto-assigned address."""
    cloud, ctx, image = in_process_cloud(tmp_path, HostCapacity(16, 65536, 500))
    row = cloud.run_instances(ctx, RunRequest(image)).instances[0]
    cloud.security_groups.authorize(ctx, (None, "default"), False, [
        Permission("tcp", 22, 22, ipv4=(("0.0.0.0/0", ""),))])
    eip = cloud.elastic_ips.allocate(ctx).address
    cloud.instances.changed.clear()
    association = cloud.eip_associations.associate(
        ctx, AssociateRequest(allocation_id=eip.id, instance_id=row.id))
    assert cloud.instances.changed.is_set()  # the agent wakes to move the forwards
    network = LocalStore(cloud).network(cloud.instances.get(ctx, row.id))
    assert network.public_ip == eip.public_ip
    assert [(f.host_ip, f.host_port, f.guest_port) for f in network.forwards] == [
        (eip.public_ip, 22, 22)]
    tree = ec2_meta_data(cloud.metadata.facts(row.id))
    assert tree["public-ipv4"] == eip.public_ip == tree["public-hostname"]
    cloud.eip_associations.disassociate(ctx, association, None)
    network = LocalStore(cloud).network(cloud.instances.get(ctx, row.id))
    assert ipaddress.ip_address(network.public_ip) in AUTO_POOL
    assert [f.host_ip for f in network.forwards] == [network.public_ip]
    cloud.db.dispose()


def _race(calls: list) -> list:
    """Run the calls at once from 8 threads; each call's result or ClientError code."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        try:
            return call()
        except ClientError as exc:
            return exc.response["Error"]["Code"]
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_concurrent_allocations_never_share_an_address(cloud: RunningCloud) -> None:
    clients = []
    for name in ("eip-race-a", "eip-race-b"):
        cloud.overcast("project", "create", name)
        cloud.overcast("project", "set-quota", name, "--elastic-ips", "16")
        creds = cloud.project_credentials(name)
        clients += [cloud.client(creds) for _ in range(4)]
    batches = _race([lambda c=c: [c.allocate_address()["PublicIp"] for _ in range(4)]
                     for c in clients])
    addresses = [ip for batch in batches for ip in batch]
    assert len(addresses) == 32 and len(set(addresses)) == 32
    for client in (clients[0], clients[4]):
        assert len(client.describe_addresses()["Addresses"]) == 16
        _fails("AddressLimitExceeded", client.allocate_address)
    # eight asking for one address at once: exactly one gets it
    outcomes = _race([lambda c=c: c.allocate_address(Address="127.101.222.1")["PublicIp"]
                      for c in clients])
    assert outcomes.count("AddressLimitExceeded") == 8  # both projects are full
    for client in (clients[0], clients[4]):
        for address in client.describe_addresses()["Addresses"][:1]:
            client.release_address(AllocationId=address["AllocationId"])
    outcomes = _race([lambda c=c: c.allocate_address(Address="127.101.222.1")["PublicIp"]
                      for c in clients])
    # one wins; its project is full again, the other project finds the address taken
    assert Counter(outcomes) == {"127.101.222.1": 1, "AddressLimitExceeded": 3,
                                 "InvalidIPAddress.InUse": 4}


def test_awscli(cloud: RunningCloud) -> None:
    cloud.overcast("project", "create", "eip-cli")
    creds = cloud.project_credentials("eip-cli")
    made = json.loads(cloud.aws("allocate-address", "--domain", "vpc",
                                credentials=creds).stdout)
    listed = json.loads(cloud.aws("describe-addresses", "--filters",
                                  f"Name=public-ip,Values={made['PublicIp']}",
                                  credentials=creds).stdout)["Addresses"]
    assert [a["AllocationId"] for a in listed] == [made["AllocationId"]]
    cloud.aws("release-address", "--allocation-id", made["AllocationId"], credentials=creds)
    gone = cloud.aws("describe-addresses", "--allocation-ids", made["AllocationId"],
                     credentials=creds, check=False)
    assert gone.returncode != 0 and "InvalidAllocationID.NotFound" in gone.stderr
