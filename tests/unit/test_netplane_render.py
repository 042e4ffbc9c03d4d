"""The kernel network driver's pure parts: nftables rendering, the converge plan, checks."""

from __future__ import annotations

import pytest

from overcast.drivers.network.base import NetworkError
from overcast.drivers.network.kernel import checks, dhcp, firewall, names, nftables
from overcast.drivers.network.spec import (
    PortSpec,
    RemotePortSpec,
    Rule,
    SecurityGroupSpec,
    SubnetSpec,
    VpcSpec,
)

SUBNET = SubnetSpec("subnet-1", "10.0.0.0/20", "10.0.0.1")


def vpc(*groups: SecurityGroupSpec, ports: tuple[PortSpec, ...] = ()) -> VpcSpec:
    return VpcSpec("vpc-0abc", "10.0.0.0/16", 42, (SUBNET,), ports, groups,
                   (RemotePortSpec("i-remote", ("10.0.0.9",), "192.0.2.2", ("sg-web",)),))


PORT = PortSpec("i-1", "subnet-1", "02:00:00:00:00:05", ("10.0.0.5",), "tap-i1", ("sg-web",))


def objects(spec: VpcSpec) -> dict[str, firewall.NftObject]:
    return {obj.name: obj for obj in firewall.render_inet(spec, vxlan=False)}


def test_rules_render_to_nft_matches() -> None:
    web = SecurityGroupSpec("sg-web", ingress=(
        Rule("tcp", 22, 22, cidr="192.168.1.7/24"),
        Rule("udp", 1000, 2000, group_id="sg-web"),
        Rule("icmp", 8, -1, cidr="0.0.0.0/0"),
        Rule("-1", cidr="2001:db8::/32"),  # IPv6: not on this IPv4 data plane yet
    ), egress=(Rule("6", 0, 65535, cidr="10.0.0.0/8"),))
    found = objects(vpc(web, ports=(PORT,)))
    assert found["sg_sg_web_in"].rules == (
        "ip saddr 192.168.1.0/24 tcp dport 22 accept",
        "ip saddr @members_sg_web udp dport 1000-2000 accept",
        "meta nfproto ipv4 icmp type 8 accept")
    assert found["sg_sg_web_out"].rules == ("ip daddr 10.0.0.0/8 meta l4proto tcp accept",)
    # members: local and remote ports of the group
    assert found["members_sg_web"].elements == {"10.0.0.5", "10.0.0.9"}
    assert found["port_tap_i1_guard"].rules[0] == "ether saddr != 02:00:00:00:00:05 drop"


def test_a_referenced_group_without_ports_gets_an_empty_set() -> None:
    db = SecurityGroupSpec("sg-db", ingress=(Rule("tcp", 5432, 5432, group_id="sg-app"),))
    assert objects(vpc(db))["members_sg_app"].elements == frozenset()


@pytest.mark.parametrize("rule", [Rule("tcp; flush ruleset", cidr="0.0.0.0/0"),
                                  Rule("-1", cidr="10.0.0.0/8 accept")])
def test_nothing_unchecked_reaches_an_nft_script(rule: Rule) -> None:
    with pytest.raises(NetworkError):
        firewall.render_inet(vpc(SecurityGroupSpec("sg-x", ingress=(rule,))), vxlan=False)


def test_plan_rewrites_only_what_differs() -> None:
    first = [firewall.NftObject("chain", "sg_a_in", rules=("accept",)),
             firewall.NftObject("chain", "sg_b_in", rules=("drop",)),
             firewall.NftObject("set", "members_a", elements=frozenset({"10.0.0.5"}))]
    created = nftables.plan("inet", "t", first, None)
    assert "add chain inet t sg_a_in" in created and "flush" not in created
    now = nftables.Existing(chains={o.name: nftables.fingerprint(o) for o in first[:2]},
                            sets={"members_a": frozenset({"10.0.0.5"}), "members_old": frozenset()})
    now.chains["gone"] = ""
    second = [first[0], firewall.NftObject("chain", "sg_b_in", rules=("accept",)), first[2]]
    script = nftables.plan("inet", "t", second, now).splitlines()
    mark = nftables.fingerprint(second[1])
    assert script == ["add table inet t",
                      "flush chain inet t sg_b_in",
                      f'add rule inet t sg_b_in counter comment "{mark}"',
                      "add rule inet t sg_b_in accept",
                      "flush chain inet t gone", "delete chain inet t gone",
                      "delete set inet t members_old"]
    now.chains.pop("gone")
    now.sets.pop("members_old")
    now.chains["sg_b_in"] = nftables.fingerprint(second[1])
    assert nftables.plan("inet", "t", second, now) == ""


def test_names_and_checks() -> None:
    assert names.namespace("vpc-0abc123") == "ocv-0abc123"
    with pytest.raises(NetworkError):
        names.namespace("vpc-../x")
    with pytest.raises(NetworkError):
        names.check_device("tap.with.dots")
    assert names.router_mac(42, "192.0.2.1") == names.router_mac(42, "192.0.2.1")
    assert names.router_mac(42, "192.0.2.1") != names.router_mac(42, "192.0.2.2")
    with pytest.raises(NetworkError):
        checks.vpc(vpc(ports=(PortSpec("i-2", "subnet-1", "02:00:00:00:00:06",
                                       ("10.0.0.6\nlink del x",), "tap-i2"),)))


def test_dnsmasq_files(tmp_path) -> None:
    spec = vpc(ports=(PORT,))
    config = dhcp.render_config(spec, tmp_path)
    assert "dhcp-range=set:subnet_1,10.0.0.0,static,255.255.240.0,3600s" in config
    assert "dhcp-option=tag:subnet_1,option:router,10.0.0.1" in config
    assert dhcp.render_dhcp_hosts(spec) == "02:00:00:00:00:05,10.0.0.5,ip-10-0-0-5\n"
    assert dhcp.render_dns_hosts(spec) == ("10.0.0.5 ip-10-0-0-5.ec2.internal\n"
                                           "10.0.0.9 ip-10-0-0-9.ec2.internal\n")
