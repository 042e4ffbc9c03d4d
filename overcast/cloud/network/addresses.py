"""Public IPs in the no-root networking mode: each instance gets its own loopback address
(127.100.x.y) on its host, on which the ports its security groups open are forwarded."""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from overcast.db import Database
from overcast.db.models import Instance
from overcast.lifecycle import State

PUBLIC_POOL = ipaddress.ip_network("127.100.0.0/16")
POOL_FIRST = int(PUBLIC_POOL.network_address) + 1  # neither the network nor broadcast address
POOL_SIZE = PUBLIC_POOL.num_addresses - 2
# addresses checked against the database per query: few at first (the one after the last
# given is most often free), then many
FIRST_CANDIDATES, CANDIDATES = 8, 64
BOUND_TTL = 5.0
SOCKET_TABLES = ("/proc/net/tcp", "/proc/net/udp")
# built once: a launch runs it, and building a statement costs more than running it here
PUBLIC_IPS_IN_USE = select(Instance.public_ip).where(
    Instance.host_id == bindparam("host"),
    Instance.public_ip.in_(bindparam("ips", expanding=True)))


def bound_addresses() -> set[int]:
    """IPv4 addresses (as integers) that some socket on this host is bound to: another cloud
    on the same host may already forward ports on them."""
    found: set[int] = set()
    for table in SOCKET_TABLES:
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local = line.split()[1].split(":")[0]  # little-endian hex, e.g. 0100647F
            found.add(int.from_bytes(bytes.fromhex(local)[::-1], "big"))
    return found


class RoundRobin:
    """Addresses handed out round a range from just after the last one given, per key (a host,
    a subnet): a search checks a few candidates a query instead of loading every address in
    use, and a freed address comes back after the others."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}  # key -> offset in the range to look at first

    def free(self, key: str, first: int, size: int, in_use: Callable[[list[str]], set[str]],
             skip: Collection[int] = ()) -> Iterator[str]:
        """Free addresses of [first, first + size) in search order; `in_use` answers which of
        a list of candidates are taken, `skip` holds values never to give."""
        start, offset = self._next.get(key, 0), 0
        while offset < size:
            batch = min(FIRST_CANDIDATES if offset == 0 else CANDIDATES, size - offset)
            values = [v for i in range(batch)
                      if (v := first + (start + offset + i) % size) not in skip]
            offset += batch
            addresses = [socket.inet_ntoa(v.to_bytes(4, "big")) for v in values]
            used = in_use(addresses)
            for value, address in zip(values, addresses, strict=True):
                if address not in used:
                    self._next[key] = (value - first + 1) % size
                    yield address


class Addresses:
    """Hands out public IPs round the pool (RoundRobin), per host."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._bound: set[int] = set()
        self._bound_read = -BOUND_TTL
        self._pool = RoundRobin()  # per host

    def ensure_public_ip(self, instance_id: str) -> str | None:
        """The instance's public IP, allocated on first use; unique among the live instances
        of its host (loopback addresses are local to a host)."""
        with self.db.session() as s:
            row = s.scalar(select(Instance).where(Instance.id == instance_id).with_for_update())
            if row is None or row.state == State.TERMINATED:
                return None
            if not row.public_ip:
                row.public_ip = self.free_address(s, row.host_id)
            return row.public_ip

    def bound(self) -> set[int]:
        """bound_addresses(), read again at most every BOUND_TTL seconds: the socket tables
        hold every recent connection and take long to read."""
        if time.monotonic() - self._bound_read >= BOUND_TTL:
            self._bound, self._bound_read = bound_addresses(), time.monotonic()
        return self._bound

    def free_address(self, s: Session, host_id: str | None) -> str | None:
        """A public IP no live instance of the host has and no socket here is bound to."""
        def in_use(candidates: list[str]) -> set[str]:
            return set(s.scalars(PUBLIC_IPS_IN_USE, {"host": host_id, "ips": candidates}))
        return next(self._pool.free(host_id or "", POOL_FIRST, POOL_SIZE, in_use,
                                    self.bound()), None)
