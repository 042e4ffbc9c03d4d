"""Network v2.0 subset through openstacksdk: the default VPC as a network with its subnets,
instance ports, and security groups shared with the EC2 face."""

from __future__ import annotations

import pytest
import requests
from openstack import exceptions

from tests.openstack.conftest import OsCloud


def test_default_network_and_subnets_are_the_vpc(osc: OsCloud, admin) -> None:
    ec2 = osc.cloud.client()
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    network = admin.network.find_network("default")
    assert network.id == vpc["VpcId"]
    subnets = list(admin.network.subnets(network_id=network.id))
    ec2_subnets = ec2.describe_subnets()["Subnets"]
    assert {s.cidr for s in subnets} == {s["CidrBlock"] for s in ec2_subnets}
    assert all(s.ip_version == 4 and s.gateway_ip for s in subnets)
    with pytest.raises(exceptions.BadRequestException):
        admin.network.create_network(name="extra")


def test_server_on_the_network_has_a_port(admin, image_id) -> None:
    network = admin.network.find_network("default")
    server = admin.compute.create_server(name="net-vm", image_id=image_id,
                                         flavor_id="m1.tiny", networks=[{"uuid": network.id}])
    server = admin.compute.wait_for_server(server, status="ACTIVE", wait=30, interval=0.2)
    ports = list(admin.network.ports(device_id=server.id))
    assert len(ports) == 1
    assert ports[0].fixed_ips[0]["ip_address"] == server.addresses["default"][0]["addr"]
    assert ports[0].network_id == network.id
    with pytest.raises(exceptions.BadRequestException):
        admin.compute.create_server(name="x", image_id=image_id, flavor_id="m1.tiny",
                                    networks=[{"uuid": "no-such-network"}])
    admin.compute.delete_server(server)


def test_security_groups_are_shared_with_ec2(osc: OsCloud, admin) -> None:
    ec2 = osc.cloud.client()
    group = admin.network.create_security_group(name="web", description="web servers")
    rule = admin.network.create_security_group_rule(
        security_group_id=group.id, direction="ingress", protocol="tcp",
        port_range_min=80, port_range_max=80, remote_ip_prefix="0.0.0.0/0")
    seen = ec2.describe_security_groups(GroupIds=[group.id])["SecurityGroups"][0]
    assert seen["GroupName"] == "web"
    assert any(p["IpProtocol"] == "tcp" and p["FromPort"] == 80
               for p in seen["IpPermissions"])
    ec2.authorize_security_group_ingress(GroupId=group.id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
    rules = list(admin.network.security_group_rules(security_group_id=group.id,
                                                    direction="ingress"))
    assert {(r.port_range_min, r.remote_ip_prefix) for r in rules} == {
        (80, "0.0.0.0/0"), (22, "10.0.0.0/8")}
    with pytest.raises(exceptions.ConflictException):
        admin.network.create_security_group_rule(
            security_group_id=group.id, direction="ingress", protocol="tcp",
            port_range_min=80, port_range_max=80, remote_ip_prefix="0.0.0.0/0")
    admin.network.delete_security_group_rule(rule)
    seen = ec2.describe_security_groups(GroupIds=[group.id])["SecurityGroups"][0]
    assert [p["FromPort"] for p in seen["IpPermissions"]] == [22]
    # Neutron may rename a group and change its description; EC2 sees it at once
    admin.network.update_security_group(group, name="web-2", description="web tier")
    seen = ec2.describe_security_groups(GroupIds=[group.id])["SecurityGroups"][0]
    assert (seen["GroupName"], seen["Description"]) == ("web-2", "web tier")
    other = admin.network.create_security_group(name="db", description="db")
    with pytest.raises(exceptions.ConflictException):
        admin.network.update_security_group(other, name="web-2")
    default = admin.network.find_security_group("default")
    with pytest.raises(exceptions.ConflictException):
        admin.network.update_security_group(default, name="renamed-default")
    with pytest.raises(exceptions.BadRequestException):
        admin.network.update_security_group(other, stateful=False)
    admin.network.delete_security_group(other)
    admin.network.delete_security_group(group)
    assert group.id not in {g.id for g in admin.network.security_groups()}


def test_default_group_exists_and_other_projects_cannot_see_it(osc: OsCloud,
                                                              admin) -> None:
    mine = admin.network.find_security_group("default")
    assert mine is not None
    alice = osc.user("alice", "p2")
    assert mine.id not in {g.id for g in alice.network.security_groups()}
    with pytest.raises(exceptions.NotFoundException):
        alice.network.get_security_group(mine.id)


def test_neutron_faults(osc: OsCloud, admin) -> None:
    headers = {"X-Auth-Token": admin.session.get_token()}
    url = f"{osc.cloud.endpoint}/network/v2.0"
    cases = [("get", "/networks/nope", None, 404),
             ("post", "/security-group-rules", b"{}", 400),
             ("post", "/security-group-rules", b'{"security_group_rule": {"direction": "up",'
                                               b' "security_group_id": "sg-1"}}', 400),
             ("post", "/security-groups", b"not json", 400)]
    for method, path, body, status in cases:
        found = requests.request(method, url + path, data=body, headers=headers, timeout=10)
        assert found.status_code == status, (path, found.text)
        assert found.json()["NeutronError"]["message"]
