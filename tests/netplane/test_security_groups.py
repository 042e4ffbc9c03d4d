"""Security groups on the kernel data plane: stateful, ingress and egress, CIDR and
group-sourced rules, live changes, anti-spoofing."""

from __future__ import annotations

from tests.netplane.conftest import Plane, Rule, allow_all, anywhere, sh, wait_until


def test_same_group_reaches_and_other_group_is_refused(plane: Plane) -> None:
    plane.group("sg-default", ingress=(allow_all("sg-default"),))
    plane.group("sg-db")  # no ingress rule at all
    a, b = plane.guest(5, ("sg-default",)), plane.guest(6, ("sg-default",))
    c = plane.guest(7, ("sg-db",))
    assert plane.apply().pending_ports == ()
    for guest in (b, c):
        plane.serve(guest, 22, 5432)
    assert plane.pings(a, b.address)
    assert plane.reaches(a, b, 22) and plane.reaches(a, b, 5432)
    assert not plane.reaches(a, c, 5432)
    assert not plane.pings(a, c.address)
    assert not plane.pings(c, a.address)  # c sends anything, but a's group admits only members


def test_group_sourced_rule_admits_exactly_its_members(plane: Plane) -> None:
    plane.group("sg-web")
    plane.group("sg-other")
    plane.group("sg-db", ingress=(Rule("tcp", 5432, 5432, group_id="sg-web"),))
    web, other = plane.guest(10, ("sg-web",)), plane.guest(11, ("sg-other",))
    db = plane.guest(12, ("sg-db",))
    plane.apply()
    plane.serve(db, 5432, 5433)
    assert plane.reaches(web, db, 5432)
    assert not plane.reaches(other, db, 5432)
    assert not plane.reaches(web, db, 5433)  # only the rule's port
    # joining the group is enough: the member set changes, the rule stays
    other.groups = ("sg-other", "sg-web")
    plane.apply()
    assert plane.reaches(other, db, 5432)


def test_replies_pass_but_the_other_way_is_refused(plane: Plane) -> None:
    plane.group("sg-client")  # egress all, no ingress
    plane.group("sg-server", ingress=(anywhere("tcp", 8080, 8080),), egress=())  # no egress
    client, server = plane.guest(20, ("sg-client",)), plane.guest(21, ("sg-server",))
    plane.apply()
    plane.serve(server, 8080)
    plane.serve(client, 8080)
    assert plane.reaches(client, server, 8080)  # the echo came back through no egress rule
    assert not plane.reaches(server, client, 8080)


def test_egress_rule_is_honoured(plane: Plane) -> None:
    plane.group("sg-open", ingress=(anywhere(),))
    plane.group("sg-narrow", egress=(anywhere("tcp", 22, 22),))
    narrow, target = plane.guest(30, ("sg-narrow",)), plane.guest(31, ("sg-open",))
    plane.apply()
    plane.serve(target, 22, 80)
    assert plane.reaches(narrow, target, 22)
    assert not plane.reaches(narrow, target, 80)
    assert not plane.pings(narrow, target.address)


def test_rule_added_and_revoked_takes_effect_at_once(plane: Plane) -> None:
    plane.group("sg-a")
    plane.group("sg-b")
    a, b = plane.guest(40, ("sg-a",)), plane.guest(41, ("sg-b",))
    plane.apply()
    plane.serve(b, 9000)
    assert not plane.reaches(a, b, 9000)
    plane.group("sg-b", ingress=(Rule("tcp", 9000, 9000, cidr=f"{a.address}/32"),))
    plane.apply()
    assert wait_until(lambda: plane.reaches(a, b, 9000, timeout=0.2), timeout=1.0) < 1.0
    plane.group("sg-b")
    plane.apply()
    assert wait_until(lambda: not plane.reaches(a, b, 9000, timeout=0.2), timeout=1.0) < 1.0


def test_only_the_changed_group_is_rewritten(plane: Plane) -> None:
    plane.group("sg-a", ingress=(allow_all("sg-a"),))
    plane.group("sg-b", ingress=(anywhere("tcp", 22, 22),))
    plane.guest(50, ("sg-a",))
    plane.guest(51, ("sg-b",))
    plane.apply()
    before = handles(plane.netns)
    plane.group("sg-b", ingress=(anywhere("tcp", 23, 23),))
    plane.apply()
    after = handles(plane.netns)
    changed = {chain for chain in after if after[chain] != before.get(chain)}
    assert changed == {"sg_sg_b_in"}


def test_forged_source_address_and_mac_do_not_pass(plane: Plane) -> None:
    plane.group("sg-all", ingress=(allow_all("sg-all"), anywhere()))
    forger, victim = plane.guest(60, ("sg-all",)), plane.guest(61, ("sg-all",))
    plane.apply()
    plane.serve(victim, 22)
    assert plane.reaches(forger, victim, 22)
    forged = "10.77.0.99"  # free in the subnet, and the victim's group admits anyone
    sh("ip", "-n", forger.netns, "addr", "add", f"{forged}/32", "dev", "eth0")
    assert not plane.reaches(forger, victim, 22, source=forged)
    assert not plane.reaches(forger, victim, 22, source=victim.address.replace(".61", ".62"))
    sh("ip", "-n", forger.netns, "link", "set", "eth0", "address", "02:77:00:00:00:99")
    sh("ip", "-n", forger.netns, "neigh", "flush", "all")
    assert not plane.reaches(forger, victim, 22)
    assert not plane.pings(forger, victim.address)


def test_idempotent_apply_changes_nothing(plane: Plane) -> None:
    plane.group("sg-a", ingress=(allow_all("sg-a"),))
    plane.guest(70, ("sg-a",))
    plane.apply()
    ruleset = sh("ip", "netns", "exec", plane.netns, "nft", "list", "ruleset").stdout
    routes = sh("ip", "-n", plane.netns, "route").stdout
    before = handles(plane.netns)
    plane.apply()
    assert handles(plane.netns) == before
    assert sh("ip", "netns", "exec", plane.netns, "nft", "list", "ruleset").stdout == ruleset
    assert sh("ip", "-n", plane.netns, "route").stdout == routes


def handles(netns: str) -> dict[str, tuple[int, ...]]:
    """Each chain's rule handles: a rewritten chain gets new ones."""
    import json

    out = sh("ip", "netns", "exec", netns, "nft", "-j", "list", "table", "inet", "overcast")
    found: dict[str, tuple[int, ...]] = {}
    for item in json.loads(out.stdout)["nftables"]:
        if "rule" in item:
            chain = item["rule"]["chain"]
            found[chain] = (*found.get(chain, ()), item["rule"]["handle"])
    return found
