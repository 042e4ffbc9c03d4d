"""Security groups through boto3 and awscli against a real `overcast up` (fake driver)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from overcast.agent.store import LocalStore
from overcast.cloud.compute.launch import RunRequest
from overcast.cloud.network.group_rules import Permission
from overcast.drivers.base import HostCapacity
from tests.conftest import RunningCloud, in_process_cloud, wait_for_state


def _code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def creds(cloud: RunningCloud) -> dict[str, str]:
    cloud.overcast("project", "create", "sg-tests")
    return cloud.project_credentials("sg-tests")


@pytest.fixture(scope="module")
def sg(cloud: RunningCloud, creds: dict[str, str]):
    return cloud.client(creds)


@pytest.fixture(scope="module")
def image(sg) -> str:
    return sg.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]


def _group(sg, group_id: str) -> dict:
    return sg.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]


def _ssh(cidr: str = "0.0.0.0/0") -> dict:
    return {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": cidr}]}


def test_default_group_has_aws_default_rules(sg) -> None:
    found = sg.describe_security_groups(GroupNames=["default"])["SecurityGroups"]
    assert len(found) == 1
    default = found[0]
    assert default["Description"] == "default VPC security group"
    assert default["VpcId"].startswith("vpc-")
    assert default["IpPermissions"] == [{
        "IpProtocol": "-1", "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [],
        "UserIdGroupPairs": [{"GroupId": default["GroupId"], "UserId": default["OwnerId"]}]}]
    assert default["IpPermissionsEgress"] == [{
        "IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [],
        "PrefixListIds": [], "UserIdGroupPairs": []}]
    with pytest.raises(ClientError) as exc:
        sg.delete_security_group(GroupName="default")
    assert _code(exc) == "CannotDelete"


def test_create_authorize_revoke_delete(sg) -> None:
    made = sg.create_security_group(
        GroupName="web", Description="web servers",
        TagSpecifications=[{"ResourceType": "security-group",
                            "Tags": [{"Key": "tier", "Value": "front"}]}])
    gid = made["GroupId"]
    assert made["Tags"] == [{"Key": "tier", "Value": "front"}]
    with pytest.raises(ClientError) as exc:
        sg.create_security_group(GroupName="web", Description="again")
    assert _code(exc) == "InvalidGroup.Duplicate"
    answer = sg.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
         "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "http"},
                      {"CidrIp": "10.0.0.0/8"}],
         "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
        {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53,
         "UserIdGroupPairs": [{"GroupName": "default"}]}])
    assert answer["Return"] is True
    assert len(answer["SecurityGroupRules"]) == 4
    group = _group(sg, gid)
    assert group["Tags"] == [{"Key": "tier", "Value": "front"}]
    by_protocol = {p["IpProtocol"]: p for p in group["IpPermissions"]}
    assert by_protocol["tcp"]["FromPort"] == 80 and by_protocol["tcp"]["ToPort"] == 80
    assert by_protocol["tcp"]["IpRanges"] == [{"CidrIp": "0.0.0.0/0", "Description": "http"},
                                              {"CidrIp": "10.0.0.0/8"}]
    assert by_protocol["tcp"]["Ipv6Ranges"] == [{"CidrIpv6": "::/0"}]
    default_id = sg.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0][
        "GroupId"]
    assert by_protocol["udp"]["UserIdGroupPairs"][0]["GroupId"] == default_id
    with pytest.raises(ClientError) as exc:
        sg.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
             "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
    assert _code(exc) == "InvalidPermission.Duplicate"
    sg.revoke_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
         "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
    with pytest.raises(ClientError) as exc:
        sg.revoke_security_group_ingress(GroupId=gid, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
             "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
    assert _code(exc) == "InvalidPermission.NotFound"
    remaining = {r["CidrIpv4"] for r in sg.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [gid]}])["SecurityGroupRules"]
        if not r["IsEgress"] and "CidrIpv4" in r}
    assert remaining == {"0.0.0.0/0"}
    assert sg.delete_security_group(GroupId=gid)["Return"] is True
    with pytest.raises(ClientError) as exc:
        sg.describe_security_groups(GroupIds=[gid])
    assert _code(exc) == "InvalidGroup.NotFound"


def test_egress_rules_and_rule_ids(sg) -> None:
    gid = sg.create_security_group(GroupName="egress", Description="egress")["GroupId"]
    assert _group(sg, gid)["IpPermissionsEgress"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]
    rules = sg.authorize_security_group_egress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "6", "FromPort": 443, "ToPort": 443,
         "IpRanges": [{"CidrIp": "192.0.2.0/24"}]}])["SecurityGroupRules"]
    assert rules[0]["IsEgress"] is True and rules[0]["IpProtocol"] == "tcp"
    revoked = sg.revoke_security_group_egress(
        GroupId=gid, SecurityGroupRuleIds=[rules[0]["SecurityGroupRuleId"]])
    assert revoked["RevokedSecurityGroupRules"][0]["CidrIpv4"] == "192.0.2.0/24"
    sg.delete_security_group(GroupId=gid)


@pytest.mark.parametrize(("permission", "code"), [
    ({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.1/33"}]},
     "InvalidParameterValue"),
    ({"IpProtocol": "tcp", "FromPort": 30, "ToPort": 20, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
     "InvalidParameterValue"),
    ({"IpProtocol": "tcp", "FromPort": 1, "ToPort": 70000,
      "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, "InvalidParameterValue"),
    ({"IpProtocol": "bogus", "FromPort": 1, "ToPort": 2, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
     "InvalidParameterValue"),
    ({"IpProtocol": "tcp", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, "InvalidParameterValue"),
    ({"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2,
      "UserIdGroupPairs": [{"GroupId": "sg-0123456789abcdef0"}]}, "InvalidGroup.NotFound"),
    ({"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2,
      "UserIdGroupPairs": [{"GroupId": "nonsense"}]}, "InvalidGroupId.Malformed"),
])
def test_bad_permissions_are_refused(sg, permission: dict, code: str) -> None:
    with pytest.raises(ClientError) as exc:
        sg.authorize_security_group_ingress(GroupName="default", IpPermissions=[permission])
    assert _code(exc) == code


def test_errors_for_groups(sg) -> None:
    cases = [
        (lambda: sg.describe_security_groups(GroupIds=["sg-xyz"]), "InvalidGroupId.Malformed"),
        (lambda: sg.describe_security_groups(GroupIds=["sg-0123456789abcdef0"]),
         "InvalidGroup.NotFound"),
        (lambda: sg.describe_security_groups(GroupNames=["nope"]), "InvalidGroup.NotFound"),
        (lambda: sg.delete_security_group(GroupId="sg-0123456789abcdef0"),
         "InvalidGroup.NotFound"),
        (lambda: sg.create_security_group(GroupName="sg-x", Description="d"),
         "InvalidParameterValue"),
        (lambda: sg.create_security_group(GroupName="default", Description="d"),
         "InvalidParameterValue"),
        (lambda: sg.create_security_group(GroupName="x", Description="d", VpcId="vpc-zz"),
         "InvalidVpcID.Malformed"),
        (lambda: sg.describe_security_groups(Filters=[{"Name": "nope", "Values": ["x"]}]),
         "InvalidParameterValue"),
        (lambda: sg.describe_security_groups(NextToken="garbage"), "InvalidPaginationToken"),
        (lambda: sg.create_security_group(GroupName="dry", Description="d", DryRun=True),
         "DryRunOperation"),
        (lambda: sg.authorize_security_group_ingress(GroupName="default", IpPermissions=[]),
         "MissingParameter"),
        (lambda: sg.create_security_group(GroupName="t", Description="d", TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "k", "Value": "v"}]}]),
         "InvalidParameterValue"),
        (lambda: sg.create_security_group(GroupName="bad%name", Description="d"),
         "InvalidParameterValue"),
        (lambda: sg.create_security_group(GroupName="", Description="d"), "MissingParameter"),
        (lambda: sg.create_security_group(GroupName="nodesc", Description=""),
         "MissingParameter"),
    ]
    for call, code in cases:
        with pytest.raises(ClientError) as exc:
            call()
        assert _code(exc) == code, exc.value
    names = [g["GroupName"] for g in sg.describe_security_groups()["SecurityGroups"]]
    assert "dry" not in names


def test_filters_and_paging(sg) -> None:
    ids = [sg.create_security_group(GroupName=f"page-{n}", Description=f"paging {n}")["GroupId"]
           for n in range(7)]
    sg.authorize_security_group_ingress(GroupId=ids[3], IpPermissions=[_ssh("203.0.113.0/24")])
    found = sg.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["page-?"]}])
    assert sorted(g["GroupId"] for g in found["SecurityGroups"]) == sorted(ids)
    by_cidr = sg.describe_security_groups(Filters=[
        {"Name": "ip-permission.cidr", "Values": ["203.0.113.*"]},
        {"Name": "ip-permission.from-port", "Values": ["22"]}])["SecurityGroups"]
    assert [g["GroupId"] for g in by_cidr] == [ids[3]]
    pages, token = [], None
    while True:
        kwargs = {"NextToken": token} if token else {}
        answer = sg.describe_security_groups(
            MaxResults=5, Filters=[{"Name": "description", "Values": ["paging *"]}], **kwargs)
        pages.append([g["GroupId"] for g in answer["SecurityGroups"]])
        token = answer.get("NextToken")
        if not token:
            break
        sg.delete_security_group(GroupId=pages[-1][0])  # deleting between pages shifts nothing
    assert [len(p) for p in pages] == [5, 2]
    assert sorted(sum(pages, [])) == sorted(ids)
    with pytest.raises(ClientError) as exc:
        sg.describe_security_groups(MaxResults=5, GroupIds=ids[:1])
    assert _code(exc) == "InvalidParameterCombination"
    deleted = [page[0] for page in pages[:-1]]
    for gid in set(ids) - set(deleted):
        sg.delete_security_group(GroupId=gid)


def test_instances_join_groups_by_name_and_id(cloud, sg, image) -> None:
    gid = sg.create_security_group(GroupName="app", Description="app")["GroupId"]
    default = sg.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]
    plain = sg.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]
    assert plain["SecurityGroups"] == [{"GroupId": default["GroupId"], "GroupName": "default"}]
    by_name = sg.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                               SecurityGroups=["app", "default"])["Instances"][0]
    assert [g["GroupName"] for g in by_name["SecurityGroups"]] == ["app", "default"]
    by_id = sg.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                             SecurityGroupIds=[gid])["Instances"][0]
    assert by_id["SecurityGroups"] == [{"GroupId": gid, "GroupName": "app"}]
    assert by_id["NetworkInterfaces"][0]["Groups"] == by_id["SecurityGroups"]
    with pytest.raises(ClientError) as exc:
        sg.run_instances(ImageId=image, MinCount=1, MaxCount=1, SecurityGroups=["missing"])
    assert _code(exc) == "InvalidGroup.NotFound"
    with pytest.raises(ClientError) as exc:
        sg.delete_security_group(GroupId=gid)
    assert _code(exc) == "DependencyViolation"
    found = sg.describe_instances(Filters=[{"Name": "instance.group-name", "Values": ["app"]}])
    assert sorted(i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]) == \
        sorted([by_name["InstanceId"], by_id["InstanceId"]])
    sg.modify_instance_attribute(InstanceId=plain["InstanceId"], Groups=[gid])
    described = sg.describe_instances(InstanceIds=[plain["InstanceId"]])
    assert described["Reservations"][0]["Instances"][0]["SecurityGroups"] == [
        {"GroupId": gid, "GroupName": "app"}]
    attribute = sg.describe_instance_attribute(InstanceId=plain["InstanceId"],
                                               Attribute="groupSet")
    assert attribute["Groups"] == [{"GroupId": gid, "GroupName": "app"}]
    ids = [plain["InstanceId"], by_name["InstanceId"], by_id["InstanceId"]]
    sg.terminate_instances(InstanceIds=ids)
    wait_for_state(sg, ids, "terminated")
    sg.delete_security_group(GroupId=gid)


def test_awscli_flat_form(cloud, creds) -> None:
    cloud.aws("create-security-group", "--group-name", "cli", "--description", "from the cli",
              credentials=creds)
    cloud.aws("authorize-security-group-ingress", "--group-name", "cli", "--protocol", "tcp",
              "--port", "22", "--cidr", "0.0.0.0/0", credentials=creds)
    cloud.aws("authorize-security-group-ingress", "--group-name", "cli", "--protocol", "tcp",
              "--port", "8000-8080", "--cidr", "127.0.0.1/32", credentials=creds)
    shown = json.loads(cloud.aws("describe-security-groups", "--group-names", "cli",
                                 credentials=creds).stdout)["SecurityGroups"][0]
    ranges = sorted((p["FromPort"], p["ToPort"], p["IpRanges"][0]["CidrIp"])
                    for p in shown["IpPermissions"] if p["IpProtocol"] == "tcp")
    assert ranges == [(22, 22, "0.0.0.0/0"), (8000, 8080, "127.0.0.1/32")]
    cloud.aws("authorize-security-group-ingress", "--group-name", "cli", "--protocol", "all",
              "--source-group", "default", credentials=creds)
    cloud.aws("authorize-security-group-ingress", "--group-name", "cli", "--protocol", "icmp",
              "--port", "-1", "--cidr", "10.0.0.0/8", credentials=creds)
    shown = json.loads(cloud.aws("describe-security-groups", "--group-names", "cli",
                                 credentials=creds).stdout)["SecurityGroups"][0]
    by_protocol = {p["IpProtocol"]: p for p in shown["IpPermissions"]}
    assert by_protocol["-1"]["UserIdGroupPairs"][0]["GroupId"].startswith("sg-")
    assert (by_protocol["icmp"]["FromPort"], by_protocol["icmp"]["ToPort"]) == (-1, -1)
    again = cloud.aws("authorize-security-group-ingress", "--group-name", "cli", "--protocol",
                      "tcp", "--port", "22", "--cidr", "0.0.0.0/0", credentials=creds,
                      check=False)
    assert again.returncode != 0 and "InvalidPermission.Duplicate" in again.stderr
    cloud.aws("delete-security-group", "--group-name", "cli", credentials=creds)


def test_tenants_do_not_see_each_others_groups(cloud, sg, ec2) -> None:
    mine = sg.create_security_group(GroupName="private", Description="mine")["GroupId"]
    theirs = [g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]]
    assert mine not in theirs
    for call in (lambda: ec2.describe_security_groups(GroupIds=[mine]),
                 lambda: ec2.delete_security_group(GroupId=mine),
                 lambda: ec2.authorize_security_group_ingress(GroupId=mine,
                                                              IpPermissions=[_ssh()])):
        with pytest.raises(ClientError) as exc:
            call()
        assert _code(exc) == "InvalidGroup.NotFound"
    with pytest.raises(ClientError) as exc:
        ec2.authorize_security_group_ingress(GroupName="default", IpPermissions=[
            {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": mine}]}])
    assert _code(exc) == "InvalidGroup.NotFound"
    sg.delete_security_group(GroupId=mine)


def test_descriptions_and_rules_change_in_place(sg) -> None:
    gid = sg.create_security_group(GroupName="edits", Description="edits")["GroupId"]
    made = sg.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        _ssh("10.0.0.0/8"), _ssh("10.1.0.0/16")])["SecurityGroupRules"]
    first, second = (r["SecurityGroupRuleId"] for r in made)
    sg.update_security_group_rule_descriptions_ingress(GroupId=gid, IpPermissions=[
        {**_ssh("10.0.0.0/8"), "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "office"}]}])
    sg.update_security_group_rule_descriptions_ingress(GroupId=gid, SecurityGroupRuleDescriptions=[
        {"SecurityGroupRuleId": second, "Description": "lab"}])
    ranges = _group(sg, gid)["IpPermissions"][0]["IpRanges"]
    assert ranges == [{"CidrIp": "10.0.0.0/8", "Description": "office"},
                      {"CidrIp": "10.1.0.0/16", "Description": "lab"}]
    sg.modify_security_group_rules(GroupId=gid, SecurityGroupRules=[
        {"SecurityGroupRuleId": first, "SecurityGroupRule": {
            "IpProtocol": "udp", "FromPort": 500, "ToPort": 600, "CidrIpv4": "192.0.2.0/24",
            "Description": "vpn"}}])
    rule = sg.describe_security_group_rules(SecurityGroupRuleIds=[first])["SecurityGroupRules"][0]
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"], rule["CidrIpv4"],
            rule["Description"]) == ("udp", 500, 600, "192.0.2.0/24", "vpn")
    for kwargs, code in [
        ({"SecurityGroupRules": [{"SecurityGroupRuleId": first, "SecurityGroupRule": {
            "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIpv4": "10.1.0.0/16"}}]},
         "InvalidPermission.Duplicate"),
        ({"SecurityGroupRules": [{"SecurityGroupRuleId": "sgr-0123456789abcdef0",
                                  "SecurityGroupRule": {"IpProtocol": "-1",
                                                        "CidrIpv4": "0.0.0.0/0"}}]},
         "InvalidSecurityGroupRuleId.NotFound"),
    ]:
        with pytest.raises(ClientError) as exc:
            sg.modify_security_group_rules(GroupId=gid, **kwargs)
        assert _code(exc) == code
    with pytest.raises(ClientError) as exc:
        sg.update_security_group_rule_descriptions_ingress(GroupId=gid, IpPermissions=[
            _ssh("172.16.0.0/12")])
    assert _code(exc) == "InvalidPermission.NotFound"
    sg.delete_security_group(GroupId=gid)


def test_agent_contract(tmp_path) -> None:
    """In-process: what the agent forwards and the metadata service names, and the wake-up."""
    cloud, ctx, image = in_process_cloud(tmp_path, HostCapacity(16, 65536, 500))
    row = cloud.run_instances(ctx, RunRequest(image)).instances[0]
    groups = cloud.security_groups
    assert groups.open_ports(row.id) == [] and groups.names_for(row.id) == ["default"]
    cloud.instances.changed.clear()
    tcp = [Permission("tcp", 22, 22, ipv4=(("0.0.0.0/0", ""),)),
           Permission("tcp", 80, 80, ipv4=(("10.0.0.0/8", ""),)),
           Permission("tcp", 8080, 8081, ipv4=(("127.0.0.0/8", ""),)),
           Permission("udp", 53, 53, ipv6=(("::/0", ""),))]
    groups.authorize(ctx, (None, "default"), False, tcp)
    assert cloud.instances.changed.is_set()
    assert groups.open_ports(row.id) == [("tcp", 22, 22), ("tcp", 8080, 8081)]
    web = groups.create(ctx, "web", "web")
    groups.authorize(ctx, (web.id, None), False, [Permission("-1", ipv4=(("0.0.0.0/0", ""),))])
    cloud.instances.changed.clear()
    groups.set_instance_groups(ctx, row, [web.id])
    assert cloud.instances.changed.is_set()
    assert groups.open_ports(row.id) == [("-1", -1, -1)] and groups.names_for(row.id) == ["web"]
    assert cloud.vpcs.subnet_cidr(row) == "172.31.0.0/20"
    network = LocalStore(cloud).network(cloud.instances.get(ctx, row.id))
    assert network.subnet_cidr == "172.31.0.0/20" and network.gateway_ip == "172.31.0.1"
    assert {(f.protocol, f.guest_port) for f in network.forwards} >= {("tcp", 22), ("tcp", 443)}
    cloud.db.dispose()


def test_concurrent_creates_of_one_name(cloud, creds) -> None:
    clients = [cloud.client(creds) for _ in range(6)]

    def create(client) -> str:
        try:
            return client.create_security_group(GroupName="race", Description="r")["GroupId"]
        except ClientError as exc:
            return exc.response["Error"]["Code"]

    with ThreadPoolExecutor(len(clients)) as pool:
        outcomes = list(pool.map(create, clients))
    made = [o for o in outcomes if o.startswith("sg-")]
    assert len(made) == 1, outcomes
    assert sorted(set(outcomes) - set(made)) == ["InvalidGroup.Duplicate"]
    clients[0].delete_security_group(GroupId=made[0])
