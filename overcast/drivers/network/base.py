"""The network-driver protocol: what every data-plane back end offers the agent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from overcast.drivers.network.spec import DesiredNetwork


class NetworkError(Exception):
    """A network operation failed; the message says which command and why."""


@dataclass(frozen=True)
class ApplyResult:
    # ports whose tap device does not exist yet (the guest is still starting): apply again
    # once it does
    pending_ports: tuple[str, ...] = ()


class NetworkDriver(Protocol):
    name: str

    def apply(self, desired: DesiredNetwork) -> ApplyResult:
        """Make this host's networks match `desired`: create what is missing, change what
        differs, remove what is no longer wanted. Idempotent; safe to repeat after a crash."""

    def teardown(self) -> None:
        """Remove everything this driver made on the host. Idempotent."""
