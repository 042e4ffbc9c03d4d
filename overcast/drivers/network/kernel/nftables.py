"""Converging one nftables table in a namespace to rendered objects, in one transaction.

Each chain's first rule is a no-op counter whose comment is the fingerprint of the chain's
rules, so what the kernel holds is compared without keeping any state: a chain whose
fingerprint differs is flushed and written again, a set whose elements differ is flushed and
refilled, and objects no longer wanted are removed. Everything changes in one `nft -f`
transaction, so no packet ever sees a half-written group; unchanged chains are not touched.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from overcast.drivers.network.kernel import commands
from overcast.drivers.network.kernel.firewall import NftObject

FINGERPRINT = "fp="


@dataclass
class Existing:
    chains: dict[str, str] = field(default_factory=dict)  # name -> fingerprint ("" unknown)
    sets: dict[str, frozenset[str]] = field(default_factory=dict)


def converge(netns: str, family: str, table: str, objects: list[NftObject]) -> bool:
    """Make the table hold exactly `objects`; True when anything changed."""
    script = plan(family, table, objects, existing(netns, family, table))
    if script:
        commands.nft(netns, script)
    return bool(script)


def existing(netns: str, family: str, table: str) -> Existing | None:
    """What the table holds now; None when there is no such table."""
    tables = commands.nft_json(netns, "list", "tables", family)
    if not any(item.get("table", {}).get("name") == table for item in tables):
        return None
    items = commands.nft_json(netns, "list", "table", family, table)
    found = Existing()
    for item in items:
        if "chain" in item:
            found.chains.setdefault(item["chain"]["name"], "")
        elif "set" in item:
            found.sets[item["set"]["name"]] = frozenset(_element(e)
                                                        for e in item["set"].get("elem", []))
        elif "rule" in item:
            comment = item["rule"].get("comment", "")
            if comment.startswith(FINGERPRINT):
                found.chains[item["rule"]["chain"]] = comment
    return found


def plan(family: str, table: str, objects: list[NftObject], now: Existing | None) -> str:
    """The nft script that takes the table from `now` to `objects` ("" when nothing to do)."""
    now = now or Existing()
    where = f"{family} {table}"
    create, change, remove = [], [], []
    for obj in objects:
        if obj.kind == "set":
            if obj.name not in now.sets:
                create.append(f"add set {where} {obj.name} {{ type ipv4_addr; }}")
            if now.sets.get(obj.name, frozenset()) != obj.elements or obj.name not in now.sets:
                if obj.name in now.sets:
                    change.append(f"flush set {where} {obj.name}")
                if obj.elements:
                    change.append(f"add element {where} {obj.name} "
                                  f"{{ {', '.join(sorted(obj.elements))} }}")
            continue
        if obj.name not in now.chains:
            create.append(f"add chain {where} {obj.name}"
                          + (f" {{ {obj.hook} }}" if obj.hook else ""))
        mark = fingerprint(obj)
        if now.chains.get(obj.name) != mark:
            if obj.name in now.chains:
                change.append(f"flush chain {where} {obj.name}")
            change.append(f'add rule {where} {obj.name} counter comment "{mark}"')
            change += [f"add rule {where} {obj.name} {rule}" for rule in obj.rules]
    wanted = {obj.name for obj in objects}
    stale_chains = sorted(set(now.chains) - wanted)
    remove += [f"flush chain {where} {name}" for name in stale_chains]
    remove += [f"delete chain {where} {name}" for name in stale_chains]
    remove += [f"delete set {where} {name}" for name in sorted(set(now.sets) - wanted)]
    if not (create or change or remove):
        return ""
    return "\n".join([f"add table {where}", *create, *change, *remove]) + "\n"


def fingerprint(obj: NftObject) -> str:
    text = "\n".join([obj.hook, *obj.rules])
    return FINGERPRINT + hashlib.sha256(text.encode()).hexdigest()[:16]


def _element(value: Any) -> str:
    return value if isinstance(value, str) else str(value.get("elem", {}).get("val", value))
