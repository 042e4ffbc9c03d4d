"""Hyper-V hosts Overcast reaches over PowerShell remoting: adding (settings checked, the
password sealed with the cloud's SecretBox), listing, removing once they run nothing, and the
HostConfig the transport needs (the only place the password is opened)."""

from __future__ import annotations

import builtins

from sqlalchemy import select, update

from overcast.cloud.compute.hosts import Hosts
from overcast.db import Database, utcnow
from overcast.db.models import Host, Instance
from overcast.db.models_hyperv import HyperVHost
from overcast.drivers.base import HostCapacity
from overcast.drivers.hyperv.config import AUTH_METHODS, VM_MARKER, HostConfig
from overcast.errors import invalid
from overcast.identity.secrets import SecretBox
from overcast.ids import new_hex
from overcast.lifecycle import State


class HyperVHosts:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db, self.box = db, box

    def add(self, settings: HostConfig, zone: str) -> HyperVHost:
        if settings.auth not in AUTH_METHODS:
            raise invalid(f"auth must be one of {', '.join(AUTH_METHODS)}")
        if not 0 < settings.port < 65536:
            raise invalid(f"port {settings.port} is out of range")
        with self.db.session() as s:
            if s.scalar(select(HyperVHost).where(HyperVHost.name == settings.name)):
                raise invalid(f"a host named {settings.name} already exists")
            row = HyperVHost(
                id=new_hex(), name=settings.name, address=settings.address, port=settings.port,
                username=settings.username, password_encrypted=self.box.seal(settings.password),
                auth=settings.auth, cert_validation=settings.cert_validation,
                vm_path=settings.vm_path, switch_name=settings.switch, zone=zone,
                created_at=utcnow(), last_error="")
            s.add(row)
            return row

    def get(self, name: str) -> HyperVHost:
        with self.db.session() as s:
            row = s.scalar(select(HyperVHost).where(HyperVHost.name == name))
        if row is None:
            raise invalid(f"no Hyper-V host named {name}")
        return row

    def list(self) -> builtins.list[HyperVHost]:
        with self.db.session() as s:
            return list(s.scalars(select(HyperVHost).order_by(HyperVHost.name)))

    def config(self, row: HyperVHost) -> HostConfig:
        return HostConfig(name=row.name, address=row.address, port=row.port,
                          username=row.username, password=self.box.open(row.password_encrypted),
                          auth=row.auth, cert_validation=row.cert_validation,
                          vm_path=row.vm_path, switch=row.switch_name,
                          marker=f"{VM_MARKER}:{row.id}")

    def remove(self, name: str) -> None:
        """Forget a host that runs no instance any more: its settings, its sealed password and
        its scheduler row (terminated instances keep their records, without the host)."""
        with self.db.session() as s:
            row = s.scalar(select(HyperVHost).where(HyperVHost.name == name))
            if row is None:
                raise invalid(f"no Hyper-V host named {name}")
            host = s.scalar(select(Host).where(Host.name == name).with_for_update())
            if host is not None:
                live = list(s.scalars(select(Instance.id).where(
                    Instance.host_id == host.id, Instance.state != State.TERMINATED)))
                if live:
                    raise invalid(f"host {name} still has {len(live)} instance(s) "
                                  f"({', '.join(sorted(live)[:5])}): terminate them first")
                s.execute(update(Instance).where(Instance.host_id == host.id)
                          .values(host_id=None))
                s.delete(host)
            s.delete(row)

    def heartbeat(self, name: str, driver: str, zone: str,
                  capacity: HostCapacity) -> str | None:
        """Register or refresh the scheduler's row of a host still added (None once it is
        removed: an agent that has not yet been let go does not bring it back)."""
        with self.db.session() as s:
            if s.scalar(select(HyperVHost.id).where(HyperVHost.name == name)
                        .with_for_update()) is None:
                return None
            return Hosts.heartbeat_in(s, name, driver, zone, capacity)

    def record_error(self, name: str, error: str) -> None:
        with self.db.session() as s:
            row = s.scalar(select(HyperVHost).where(HyperVHost.name == name))
            if row is not None and row.last_error != error:
                row.last_error = error
