"""Public IPs in the no-root networking mode: each instance gets its own loopback address
(127.100.x.y) on its host, on which the ports its security groups open are forwarded."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

from sqlalchemy import select

from overcast.db import Database
from overcast.db.models import Instance
from overcast.lifecycle import State

PUBLIC_POOL = ipaddress.ip_network("127.100.0.0/16")
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
    def __init__(self, db: Database) -> None:
        self.db = db

    def ensure_public_ip(self, instance_id: str) -> str | None:
        """The instance's public IP, allocated on first use; unique among the live instances
        of its host (loopback addresses are local to a host)."""
        with self.db.session() as s:
            row = s.scalar(select(Instance).where(Instance.id == instance_id).with_for_update())
            if row is None or row.state == State.TERMINATED:
                return None
            if row.public_ip:
                return row.public_ip
            used = set(s.scalars(select(Instance.public_ip).where(
                Instance.host_id == row.host_id, Instance.public_ip.is_not(None))))
            taken = {int.from_bytes(socket.inet_aton(a), "big") for a in used}
            taken |= bound_addresses()
            first = int(PUBLIC_POOL.network_address)
            for value in range(first + 1, first + PUBLIC_POOL.num_addresses - 1):
                if value not in taken:  # integers: cheap per address
                    row.public_ip = socket.inet_ntoa(value.to_bytes(4, "big"))
                    return row.public_ip
        return None
