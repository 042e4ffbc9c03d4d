"""Instances after launch: describe, user actions through the state machine, and the
agent's view (what a host should run, what it observed)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from overcast.cloud import filters as flt
from overcast.cloud import tags as tagsvc
from overcast.db import Database, as_utc, utcnow
from overcast.db.models import Instance, Tag
from overcast.errors import InvalidParameter, NotFound, invalid
from overcast.identity.context import Context
from overcast.ids import is_valid
from overcast.lifecycle import STATE_CODES, State, next_state

USER_REASONS = {
    "stop": ("Client.UserInitiatedShutdown", "User initiated shutdown"),
    "terminate": ("Client.UserInitiatedShutdown", "User initiated shutdown"),
}


@dataclass(frozen=True)
class StateChange:
    instance_id: str
    previous: State
    current: State


INSTANCE_FILTERS: dict[str, flt.Extractor] = {
    "instance-id": lambda t: t.item.id,
    "instance-state-name": lambda t: t.item.state,
    "instance-state-code": lambda t: str(STATE_CODES[State(t.item.state)]),
    "instance-type": lambda t: t.item.instance_type,
    "image-id": lambda t: t.item.image_id,
    "key-name": lambda t: t.item.key_name,
    "availability-zone": lambda t: t.item.availability_zone,
    "placement-availability-zone": lambda t: t.item.availability_zone,
    "reservation-id": lambda t: t.item.reservation_id,
    "private-ip-address": lambda t: t.item.private_ip,
    "ip-address": lambda t: t.item.public_ip,
    "launch-index": lambda t: str(t.item.launch_index),
    "client-token": lambda t: t.item.client_token,
    "architecture": lambda t: "x86_64",
    "root-device-type": lambda t: "ebs",
    "virtualization-type": lambda t: "hvm",
    "tenancy": lambda t: "default",
    "state-reason-code": lambda t: t.item.state_reason_code,
    "private-dns-name": lambda t: private_dns_name(t.item),
    "launch-time": lambda t: as_utc(t.item.launch_time).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
}


def private_dns_name(row: Instance) -> str:
    return f"ip-{row.private_ip.replace('.', '-')}.ec2.internal" if row.private_ip else ""


def check_instance_ids(ids: Sequence[str]) -> None:
    for iid in ids:
        if not is_valid(iid, "i"):
            raise InvalidParameter("InvalidInstanceID.Malformed", f'Invalid id: "{iid}"')


def _not_found(missing: Sequence[str]) -> NotFound:
    if len(missing) == 1:
        return NotFound("InvalidInstanceID.NotFound",
                        f"The instance ID '{missing[0]}' does not exist")
    return NotFound("InvalidInstanceID.NotFound",
                    f"The instance IDs '{', '.join(missing)}' do not exist")


class Instances:
    def __init__(self, db: Database, retention: float) -> None:
        self.db = db
        self.retention = timedelta(seconds=retention)
        self.changed = threading.Event()  # set whenever the agent has work to do
        self.console_readers: dict[str, Callable[[str], bytes]] = {}  # host_id -> reader

    # reading ------------------------------------------------------------------------------
    def _load(self, s: Session, ctx: Context, ids: Sequence[str],
              lock: bool = False) -> list[Instance]:
        check_instance_ids(ids)
        query = select(Instance).where(Instance.project_id == ctx.project_id,
                                       Instance.id.in_(ids))
        rows = {r.id: r for r in s.scalars(query.with_for_update() if lock else query)}
        missing = [i for i in dict.fromkeys(ids) if i not in rows]
        if missing:
            raise _not_found(missing)
        return [rows[i] for i in dict.fromkeys(ids)]

    def describe(self, ctx: Context, ids: Sequence[str], filters: Sequence[flt.Filter],
                 max_results: int | None = None,
                 token: str | None = None) -> tuple[list[flt.Tagged[Instance]], str | None]:
        if max_results is not None and ids:
            raise invalid("The parameter instancesSet cannot be used with the parameter "
                          "maxResults", "InvalidParameterCombination")
        flt.check_max_results(max_results, 5, 1000)
        flt.check_filters(filters, INSTANCE_FILTERS)
        with self.db.session() as s:
            if ids:
                rows = self._load(s, ctx, ids)
            else:
                rows = list(s.scalars(select(Instance).where(
                    Instance.project_id == ctx.project_id)))
            tags = tagsvc.for_resources(s, ctx.project_id, ids or None)
        tagged = [flt.Tagged(r, tags.get(r.id, {})) for r in rows]
        found = [t for t in tagged if flt.matches(t, filters, INSTANCE_FILTERS)]
        return flt.page(found, lambda t: t.item.id, max_results, token)

    def get(self, ctx: Context, instance_id: str) -> Instance:
        with self.db.session() as s:
            return self._load(s, ctx, [instance_id])[0]

    def exists(self, s: Session, ctx: Context, instance_id: str) -> bool:
        return s.scalar(select(Instance.id).where(Instance.id == instance_id,
                                                  Instance.project_id == ctx.project_id)) \
            is not None

    # user actions ---------------------------------------------------------------------------
    def change(self, ctx: Context, ids: Sequence[str], event: str,
               force: bool = False) -> list[StateChange]:
        """Apply one user action to every instance, or to none if any may not take it."""
        if not ids:
            raise InvalidParameter("MissingParameter",
                                   "The request must contain the parameter InstanceId")
        with self.db.session() as s:
            rows = self._load(s, ctx, ids, lock=True)
            targets = [next_state(r.id, State(r.state), event) for r in rows]
            changes = [self._apply(r, event, target, force) for r, target in zip(rows, targets,
                                                                                  strict=True)]
        self.changed.set()
        return changes

    @staticmethod
    def _apply(row: Instance, event: str, target: State, force: bool) -> StateChange:
        previous = State(row.state)
        now = utcnow()
        if event == "reboot":
            row.reboot_requested = True
        if target != previous:
            row.state = target
            code, message = USER_REASONS.get(event, ("", ""))
            row.state_reason_code = code
            row.state_reason_message = f"{code}: {message}" if code else ""
            if code:
                row.transition_reason = f"User initiated ({now:%Y-%m-%d %H:%M:%S} GMT)"
            row.force_stop = force and event == "stop"
        row.updated_at = now.timestamp()
        return StateChange(row.id, previous, target)

    def console_output(self, ctx: Context, instance_id: str) -> bytes:
        row = self.get(ctx, instance_id)
        reader = self.console_readers.get(row.host_id or "")
        if reader is None or row.state == State.TERMINATED:
            return b""
        return reader(row.id)

    # the agent's side --------------------------------------------------------------------
    def for_host(self, host_id: str) -> list[Instance]:
        with self.db.session() as s:
            return list(s.scalars(select(Instance).where(
                Instance.host_id == host_id, Instance.state != State.TERMINATED)))

    def known_ids(self, host_id: str) -> set[str]:
        with self.db.session() as s:
            return set(s.scalars(select(Instance.id).where(Instance.host_id == host_id)))

    def observe(self, instance_id: str, event: str, reason: tuple[str, str] | None = None,
                expected: State | None = None) -> State | None:
        """Record what the agent saw. Ignored (None) if the row moved on meanwhile."""
        with self.db.session() as s:
            row = s.scalar(select(Instance).where(Instance.id == instance_id)
                           .with_for_update())
            if row is None or (expected is not None and row.state != expected):
                return None
            target = next_state(row.id, State(row.state), event)
            row.state = target
            if reason:
                row.state_reason_code = reason[0]
                row.state_reason_message = f"{reason[0]}: {reason[1]}"
            if target == State.TERMINATED:
                row.terminated_at = utcnow()
                row.private_ip = None
                row.public_ip = None
            if target in (State.STOPPED, State.TERMINATED):
                row.force_stop = False
                row.reboot_requested = False
            row.updated_at = utcnow().timestamp()
            return target

    def reboot_done(self, instance_id: str) -> None:
        with self.db.session() as s:
            row = s.get(Instance, instance_id)
            if row is not None:
                row.reboot_requested = False

    def purge_terminated(self) -> int:
        """Forget instances terminated longer ago than the retention period."""
        cutoff = utcnow() - self.retention
        with self.db.session() as s:
            gone = [r.id for r in s.scalars(select(Instance).where(
                Instance.state == State.TERMINATED))
                    if r.terminated_at is None or as_utc(r.terminated_at) < cutoff]
            if gone:
                s.execute(delete(Tag).where(Tag.resource_id.in_(gone)))
                s.execute(delete(Instance).where(Instance.id.in_(gone)))
        return len(gone)
