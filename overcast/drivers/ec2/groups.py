"""A remote security group per burst instance, holding the ingress rules of the instance's
Overcast groups, kept in step by the agent and removed once the instance is gone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from botocore.exceptions import ClientError

from overcast.drivers.ec2.errors import error_code, remote_call
from overcast.drivers.ec2.spec import (
    TAG_CLOUD,
    TAG_INSTANCE,
    TAG_TARGET,
    Ec2Target,
    IngressRule,
    remote_group_name,
)


class Remote(Protocol):
    """What the group functions need of a driver: the target and a boto3 EC2 client."""

    target: Ec2Target
    client: Any


def _find(driver: Remote, name: str) -> dict[str, Any] | None:
    filters = [{"Name": "group-name", "Values": [remote_group_name(name)]},
               {"Name": f"tag:{TAG_CLOUD}", "Values": [driver.target.cloud_id]}]
    with remote_call(driver.target.name):
        found = driver.client.describe_security_groups(Filters=filters)["SecurityGroups"]
    return found[0] if found else None


def ensure(driver: Remote, name: str, ingress: tuple[IngressRule, ...]) -> str:
    """The remote group of instance `name`, made if missing, with exactly `ingress`."""
    group = _find(driver, name)
    if group is None:
        tags = [{"Key": TAG_CLOUD, "Value": driver.target.cloud_id},
                {"Key": TAG_TARGET, "Value": driver.target.target_id},
                {"Key": TAG_INSTANCE, "Value": name}]
        with remote_call(driver.target.name):
            made = driver.client.create_security_group(
                GroupName=remote_group_name(name),
                Description=f"Overcast security groups of {name}",
                TagSpecifications=[{"ResourceType": "security-group", "Tags": tags}])
        group = {"GroupId": made["GroupId"], "IpPermissions": []}
    _apply(driver, group, ingress)
    return group["GroupId"]


def sync(driver: Remote, name: str, ingress: tuple[IngressRule, ...]) -> None:
    group = _find(driver, name)
    if group is not None:
        _apply(driver, group, ingress)


def _current(group: dict[str, Any]) -> set[IngressRule]:
    rules = set()
    for perm in group.get("IpPermissions", []):
        protocol = str(perm.get("IpProtocol", "-1"))
        low, high = int(perm.get("FromPort", -1)), int(perm.get("ToPort", -1))
        for ip_range in perm.get("IpRanges", []):
            rules.add(IngressRule(protocol, low, high, ip_range["CidrIp"]))
        for ip_range in perm.get("Ipv6Ranges", []):
            rules.add(IngressRule(protocol, low, high, ip_range["CidrIpv6"]))
    return rules


def _permission(rule: IngressRule) -> dict[str, Any]:
    perm: dict[str, Any] = {"IpProtocol": rule.protocol}
    if ":" in rule.cidr:
        perm["Ipv6Ranges"] = [{"CidrIpv6": rule.cidr}]
    else:
        perm["IpRanges"] = [{"CidrIp": rule.cidr}]
    if rule.protocol != "-1":
        perm.update(FromPort=rule.from_port, ToPort=rule.to_port)
    return perm


def _apply(driver: Remote, group: dict[str, Any], ingress: tuple[IngressRule, ...]) -> None:
    have, want = _current(group), set(ingress)
    with remote_call(driver.target.name):
        if want - have:
            driver.client.authorize_security_group_ingress(
                GroupId=group["GroupId"], IpPermissions=[_permission(r) for r in want - have])
        if have - want:
            driver.client.revoke_security_group_ingress(
                GroupId=group["GroupId"], IpPermissions=[_permission(r) for r in have - want])


def sweep(driver: Remote, live: Callable[[], set[str]]) -> list[str]:
    """Delete this target's groups whose instance has no live Overcast row; a group still in
    use by an instance that is shutting down is left for the next sweep. `live` is asked
    after the groups are listed, so a group made for a new instance meanwhile is kept."""
    filters = [{"Name": f"tag:{TAG_CLOUD}", "Values": [driver.target.cloud_id]},
               {"Name": f"tag:{TAG_TARGET}", "Values": [driver.target.target_id]}]
    with remote_call(driver.target.name):
        found = driver.client.describe_security_groups(Filters=filters)["SecurityGroups"]
    if not found:
        return []
    live_ids = live()
    deleted = []
    for group in found:
        tags = {t["Key"]: t["Value"] for t in group.get("Tags", [])}
        if tags.get(TAG_INSTANCE) in live_ids:
            continue
        with remote_call(driver.target.name):
            try:
                driver.client.delete_security_group(GroupId=group["GroupId"])
            except ClientError as exc:
                if error_code(exc) not in ("DependencyViolation", "InvalidGroup.NotFound"):
                    raise
                continue
        deleted.append(group["GroupName"])
    return deleted
