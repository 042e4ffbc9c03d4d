"""Public IPs in the no-root networking mode: each instance gets its own loopback address
(127.100.x.y) on its host, on which the ports its security groups open are forwarded."""

from __future__ import annotations

import ipaddress
import socket
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.db import Database
from overcast.db.models import Instance
from overcast.lifecycle import State

PUBLIC_POOL = ipaddress.ip_network("127.100.0.0/16")
POOL_FIRST = int(PUBLIC_POOL.network_address) + 1  # neither the network nor broadcast address
POOL_SIZE = PUBLIC_POOL.num_addresses - 2
CANDIDATES = 64  # addresses checked against the database per query
BOUND_TTL = 5.0
SOCKET_TABLES = ("/proc/net/tcp", "/proc/net/udp")


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


class Addresses:
    """Hands out public IPs round the pool from where the last one was taken, so a launch
    looks at a few candidates instead of every address in use."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._bound: set[int] = set()
        self._bound_read = -BOUND_TTL
        self._next: dict[str, int] = {}  # host ID -> where to look first

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

    def _bound_addresses(self) -> set[int]:
        """bound_addresses(), read again at most every BOUND_TTL seconds: the socket tables
        hold every recent connection and take long to read."""
        if time.monotonic() - self._bound_read >= BOUND_TTL:
            self._bound, self._bound_read = bound_addresses(), time.monotonic()
        return self._bound

    def free_address(self, s: Session, host_id: str | None) -> str | None:
        """A public IP no live instance of the host has and no socket here is bound to."""
        bound = self._bound_addresses()
        start = self._next.get(host_id or "", 0)
        for offset in range(0, POOL_SIZE, CANDIDATES):
            values = [POOL_FIRST + (start + offset + i) % POOL_SIZE for i in range(CANDIDATES)]
            candidates = [socket.inet_ntoa(v.to_bytes(4, "big")) for v in values
                          if v not in bound]
            used = set(s.scalars(select(Instance.public_ip).where(
                Instance.host_id == host_id, Instance.public_ip.in_(candidates))))
            for address in candidates:
                if address not in used:
                    value = int.from_bytes(socket.inet_aton(address), "big")
                    self._next[host_id or ""] = (value - POOL_FIRST + 1) % POOL_SIZE
                    return address
        return None
