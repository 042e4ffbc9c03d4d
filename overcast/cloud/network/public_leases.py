"""Who holds each address of the public network: an Elastic IP allocation, or (kernel
networking with a public network) an instance that was given one at launch because its
subnet maps public IPs on launch. Both kinds come from the one pool and take a lease row whose
primary key decides between racing takers; an auto-assigned address goes back when its instance
terminates or an Elastic IP takes its place."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from overcast.cloud.network.addresses import RoundRobin
from overcast.db.models_eips import ElasticIp
from overcast.db.models_nat import PublicAddressLease


class PublicLeases:
    def __init__(self, pool: ipaddress.IPv4Network, reserved: set[int],
                 auto_assign: bool) -> None:
        """`auto_assign`: instances get a public address at launch (a public network is
        configured); `reserved`: addresses never handed out (the gateway)."""
        self.pool, self.reserved, self.auto_assign = pool, reserved, auto_assign
        self._round = RoundRobin()

    def candidates(self, s: Session, key: str, skip: set[int]) -> Iterator[str]:
        """Free addresses of the pool in search order (not the network or broadcast one)."""
        def in_use(candidates: list[str]) -> set[str]:
            leased = s.scalars(select(PublicAddressLease.public_ip).where(
                PublicAddressLease.public_ip.in_(candidates)))
            allocated = s.scalars(select(ElasticIp.public_ip).where(
                ElasticIp.public_ip.in_(candidates)))
            return {*leased, *allocated}
        first = int(self.pool.network_address) + 1
        size = max(self.pool.num_addresses - 2, 1)
        return self._round.free(key, first, size, in_use, skip | self.reserved)

    def assign(self, s: Session, instance_id: str) -> str | None:
        """A leased address for the instance; None when auto-assigning is off or the pool is
        full (the instance then has no public address, as a launch must not fail for it)."""
        if not self.auto_assign:
            return None
        s.flush()  # a failed lease rolls back its savepoint only, never rows made before it
        for candidate in self.candidates(s, "auto", set()):
            try:
                with s.begin_nested():
                    s.add(PublicAddressLease(public_ip=candidate, instance_id=instance_id))
            except IntegrityError:
                continue
            return candidate
        return None

    @staticmethod
    def release_instance(s: Session, instance_id: str) -> None:
        s.execute(delete(PublicAddressLease).where(
            PublicAddressLease.instance_id == instance_id))

    @staticmethod
    def release_allocation(s: Session, allocation_id: str) -> None:
        s.execute(delete(PublicAddressLease).where(
            PublicAddressLease.allocation_id == allocation_id))
