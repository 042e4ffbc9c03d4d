"""Whether an instance's host can do what an action asks of its driver (pause, suspend...):
the cloud decides by the driver's capabilities, before recording the intent."""

from __future__ import annotations

from sqlalchemy.orm import Session

from overcast.db.models import Host, Instance
from overcast.drivers.registry import capabilities_of
from overcast.errors import InvalidParameter
from overcast.lifecycle import NEEDS_CAPABILITY


def check_host_can(s: Session, rows: list[Instance], event: str) -> None:
    """Refuse `event` (UnsupportedOperation) when a row's host driver lacks what it needs."""
    needed = NEEDS_CAPABILITY.get(event)
    if needed is None:
        return
    for row in rows:
        host = s.get(Host, row.host_id) if row.host_id else None
        if host is None or not getattr(capabilities_of(host.driver, host.network_mode), needed):
            driver = host.driver if host else "no"
            raise InvalidParameter("UnsupportedOperation",
                                   f"The instance '{row.id}' runs on a host ({driver} driver) "
                                   f"that cannot {event} its instances.")
