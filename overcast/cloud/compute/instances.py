"""Instances after launch: describe, user actions through the state machine, and the
agent's view (what a host should run, what it observed)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import cast

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from overcast.cloud import filters as flt
from overcast.cloud import tags as tagsvc
from overcast.cloud.compute.changes import ChangeSignal
from overcast.cloud.compute.host_abilities import check_host_can
from overcast.cloud.compute.instance_filters import INSTANCE_FILTERS, private_dns_name  # noqa: F401
from overcast.cloud.compute.nova_actions import check_unlocked
from overcast.cloud.compute.records import INSTANCE_COLUMNS, InstanceRecord
from overcast.cloud.network import SecurityGroups, forget_instance
from overcast.db import Database, as_utc, utcnow
from overcast.db.models import Image, Instance, Tag
from overcast.db.models_network import InstanceSecurityGroup
from overcast.errors import Conflict, Forbidden, InvalidParameter, NotFound, invalid
from overcast.identity.context import Context
from overcast.ids import check_instance_ids
from overcast.lifecycle import HOLDS_CPU, State, log_transition, next_state

USER_REASONS = {
    "stop": ("Client.UserInitiatedShutdown", "User initiated shutdown"),
    "terminate": ("Client.UserInitiatedShutdown", "User initiated shutdown"),
}


DEFAULT_ROOT_DEVICE = "/dev/xvda"  # an image's root device unless it says otherwise


@dataclass
class InstanceView(flt.Tagged[InstanceRecord]):
    """An instance (a frozen record, never the row) with its tags, its security groups and
    its owner."""

    groups: list[tuple[str, str]] = field(default_factory=list)  # (group ID, name)
    owner_id: str = ""
    zone_id: str = ""
    root_device: str = DEFAULT_ROOT_DEVICE  # its image's root device name


@dataclass(frozen=True)
class StateChange:
    instance_id: str
    previous: State
    current: State


METADATA_CHOICES = {
    "http_tokens": ("optional", "required"),
    "http_endpoint": ("enabled", "disabled"),
    "instance_tags": ("enabled", "disabled"),
}
SHUTDOWN_BEHAVIORS = ("stop", "terminate")


@dataclass(frozen=True)
class MetadataOptions:
    """Instance metadata service options (enforced by the metadata service)."""

    http_tokens: str | None = None
    http_endpoint: str | None = None
    hop_limit: int | None = None
    instance_tags: str | None = None

    def check(self) -> None:
        for name, allowed in METADATA_CHOICES.items():
            value = getattr(self, name)
            if value is not None and value not in allowed:
                raise invalid(f"Value ({value}) for parameter {_camel(name)} is invalid. "
                              f"Expected one of: {', '.join(allowed)}.")
        if self.hop_limit is not None and not 1 <= self.hop_limit <= 64:
            raise invalid(f"Value ({self.hop_limit}) for parameter HttpPutResponseHopLimit is "
                          "invalid. Expected a value between 1 and 64.")

    def apply(self, row: Instance) -> None:
        if self.http_tokens is not None:
            row.metadata_http_tokens = self.http_tokens
        if self.http_endpoint is not None:
            row.metadata_http_endpoint = self.http_endpoint
        if self.hop_limit is not None:
            row.metadata_hop_limit = self.hop_limit
        if self.instance_tags is not None:
            row.metadata_instance_tags = self.instance_tags


@dataclass(frozen=True)
class InstanceOptions:
    """Attributes chosen at launch besides type, image and network."""

    disable_api_termination: bool = False
    disable_api_stop: bool = False
    shutdown_behavior: str = "stop"
    metadata: MetadataOptions = MetadataOptions()

    def check(self) -> None:
        check_shutdown_behavior(self.shutdown_behavior)
        self.metadata.check()

    def apply(self, row: Instance) -> None:
        row.disable_api_termination = self.disable_api_termination
        row.disable_api_stop = self.disable_api_stop
        row.shutdown_behavior = self.shutdown_behavior
        row.metadata_http_tokens, row.metadata_http_endpoint = "optional", "enabled"
        row.metadata_hop_limit, row.metadata_instance_tags = 1, "disabled"
        self.metadata.apply(row)


@dataclass(frozen=True)
class AttributeChange:
    """A change to one instance attribute: the columns to set, and whether the instance must
    be stopped for it."""

    values: dict[str, object]
    needs_stopped: bool = False

    def apply(self, row: Instance) -> None:
        for column, value in self.values.items():
            setattr(row, column, value)


def _camel(name: str) -> str:
    return {"http_tokens": "HttpTokens", "http_endpoint": "HttpEndpoint",
            "instance_tags": "InstanceMetadataTags"}[name]


def check_shutdown_behavior(value: str) -> None:
    if value not in SHUTDOWN_BEHAVIORS:
        raise invalid(f"Value ({value}) for parameter instanceInitiatedShutdownBehavior is "
                      "invalid. Expected 'stop' or 'terminate'.")



def _not_found(missing: Sequence[str]) -> NotFound:
    if len(missing) == 1:
        return NotFound("InvalidInstanceID.NotFound",
                        f"The instance ID '{missing[0]}' does not exist")
    return NotFound("InvalidInstanceID.NotFound",
                    f"The instance IDs '{', '.join(missing)}' do not exist")


def _check_protected(row: Instance, event: str) -> None:
    """disableApiTermination / disableApiStop refuse those actions, as on EC2."""
    if event == "terminate" and row.disable_api_termination \
            and row.state != State.TERMINATED:
        raise Forbidden("OperationNotPermitted",
                        f"The instance '{row.id}' may not be terminated. Modify its "
                        "'disableApiTermination' instance attribute and try again.")
    if event == "stop" and row.disable_api_stop and row.state == State.RUNNING:
        raise Forbidden("OperationNotPermitted",
                        f"The instance '{row.id}' may not be stopped. Modify its "
                        "'disableApiStop' instance attribute and try again.")


def _terminates_on_shutdown(row: Instance, event: str,
                            reason: tuple[str, str] | None) -> bool:
    """instanceInitiatedShutdownBehavior=terminate: a guest that powers itself off is
    terminated instead of stopped (a crash still stops it)."""
    return (event == "powered_off" and row.state == State.RUNNING
            and row.shutdown_behavior == "terminate" and reason is not None
            and reason[0] == "Client.InstanceInitiatedShutdown")


# (instance ID, project ID, from, to, reason) of a change to log once it is committed
Transition = tuple[str, str, State, State, str]
SCAN_BATCH = 500  # instances read at a time by an ID-less DescribeInstances
Extras = tuple[dict[str, dict[str, str]], dict[str, list[tuple[str, str]]]]  # tags, groups


def _tag_narrowing(project_id: str, filters: Sequence[flt.Filter]) -> list[ColumnElement[bool]]:
    """SQL conditions that keep only instances that can pass the `tag:KEY` filters without
    wildcards (the filters themselves still decide, in Python)."""
    conditions: list[ColumnElement[bool]] = []
    for entry in filters:
        if entry.name.startswith("tag:") and entry.values and \
                not any("*" in v or "?" in v for v in entry.values):
            conditions.append(Instance.id.in_(select(Tag.resource_id).where(
                Tag.project_id == project_id, Tag.key == entry.name[4:],
                Tag.value.in_(entry.values))))
    return conditions


class Instances:
    def __init__(self, db: Database, retention: float) -> None:
        self.db = db
        self.retention = timedelta(seconds=retention)
        self.changed = ChangeSignal()  # set whenever the agents have work to do
        self.console_readers: dict[str, Callable[[str], bytes]] = {}  # host_id -> reader
        self.zone_id: Callable[[str], str] = lambda zone: zone  # set by Cloud (zone IDs)
        # set by Cloud: refuses starting instances the quota or their hosts have no room for
        self.check_start: Callable[[Session, Context, list[Instance]], None] = \
            lambda s, ctx, rows: None
        self._root_devices: dict[str, str] = {}  # image ID -> root device name (fixed)
        # set by Cloud: what else ends with an instance, in the transaction that records its
        # termination (the storage wing lets its volumes go, as EC2 does)
        self.on_terminated: list[Callable[[Session, str], None]] = []

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
                 token: str | None = None) -> tuple[list[InstanceView], str | None]:
        if max_results is not None and ids:
            raise invalid("The parameter instancesSet cannot be used with the parameter "
                          "maxResults", "InvalidParameterCombination")
        flt.check_max_results(max_results, 5, 1000)
        flt.check_filters(filters, INSTANCE_FILTERS)
        by_group = any("group" in f.name for f in filters)
        if ids:
            with self.db.read() as s:
                rows = [InstanceRecord.of(r) for r in self._load(s, ctx, ids)]
                extras = self._extras(s, ctx, rows, by_group)
            found = self._matching(ctx, rows, extras, filters)
            chunk, next_token = flt.page(found, lambda t: t.item.id, max_results, token)
        else:
            chunk, next_token = self._scan(ctx, filters, max_results, token, by_group)
        if not by_group and chunk:  # groups only for the page handed out
            self._add_groups(ctx, chunk)
        return chunk, next_token

    def by_uuid(self, ctx: Context, uuid: str) -> InstanceView | None:
        """One of the project's instances by its OpenStack UUID, with its tags and groups."""
        with self.db.read() as s:
            row = s.scalar(select(Instance).where(Instance.project_id == ctx.project_id,
                                                  Instance.uuid == uuid))
            if row is None:
                return None
            record = InstanceRecord.of(row)
            extras = self._extras(s, ctx, [record], by_group=True)
        return self._matching(ctx, [record], extras, [])[0]

    @staticmethod
    def _extras(s: Session, ctx: Context, rows: Sequence[InstanceRecord],
                by_group: bool) -> Extras:
        """The rows' tags, and their security groups if a filter needs them."""
        ids = [r.id for r in rows]
        return (tagsvc.for_resources(s, ctx.project_id, ids),
                SecurityGroups.groups_of(s, ctx.project_id, ids) if by_group else {})

    def _matching(self, ctx: Context, rows: Sequence[InstanceRecord], extras: Extras,
                  filters: Sequence[flt.Filter]) -> list[InstanceView]:
        tags, groups = extras  # zone IDs may read the database: outside the session
        roots = self.root_devices(r.image_id for r in rows)
        views = (InstanceView(r, tags.get(r.id, {}), groups.get(r.id, []), ctx.account_id,
                              self.zone_id(r.availability_zone), roots[r.image_id])
                 for r in rows)
        return [v for v in views if flt.matches(v, filters, INSTANCE_FILTERS)]

    def _scan(self, ctx: Context, filters: Sequence[flt.Filter], max_results: int | None,
              token: str | None, by_group: bool) -> tuple[list[InstanceView], str | None]:
        """One page of the project's instances in ID order after the token, read a batch at
        a time until the page is full: a page costs about its own size, not the project's."""
        query = select(*INSTANCE_COLUMNS).where(Instance.project_id == ctx.project_id,
                                                *_tag_narrowing(ctx.project_id, filters))
        last = flt.decode_token(token) if token else ""
        batch = SCAN_BATCH if max_results is None else max(max_results + 1, SCAN_BATCH)
        found: list[InstanceView] = []
        while max_results is None or len(found) <= max_results:
            with self.db.read() as s:
                rows = [InstanceRecord.of_columns(r) for r in s.execute(
                    query.where(Instance.id > last).order_by(Instance.id).limit(batch))]
                extras = self._extras(s, ctx, rows, by_group)
            found += self._matching(ctx, rows, extras, filters)
            if len(rows) < batch:
                break
            last = rows[-1].id
        if max_results is None or len(found) <= max_results:
            return found, None
        chunk = found[:max_results]
        return chunk, flt.encode_token(chunk[-1].item.id)

    def _add_groups(self, ctx: Context, views: list[InstanceView]) -> None:
        few = [v.item.id for v in views] if len(views) <= 1000 else None
        with self.db.read() as s:
            groups = SecurityGroups.groups_of(s, ctx.project_id, few)
        for view in views:
            view.groups = groups.get(view.item.id, [])

    def root_devices(self, image_ids: Iterable[str]) -> dict[str, str]:
        """image ID -> the root device name its image was registered with (deregistered
        images too). Read once per image: it never changes."""
        wanted = set(image_ids)
        unknown = wanted - self._root_devices.keys()
        if unknown:
            with self.db.read() as s:
                found = dict(s.execute(select(Image.id, Image.root_device_name)
                                       .where(Image.id.in_(unknown))).all())
            for image_id in unknown:
                self._root_devices[image_id] = found.get(image_id, DEFAULT_ROOT_DEVICE)
        return {image_id: self._root_devices[image_id] for image_id in wanted}

    def count_by_state(self) -> dict[str, int]:
        """state -> how many instances of every project are in it (for metrics)."""
        with self.db.read() as s:
            return {str(state): int(count) for state, count in s.execute(
                select(Instance.state, func.count()).group_by(Instance.state))}

    def get(self, ctx: Context, instance_id: str) -> InstanceRecord:
        with self.db.read() as s:
            return InstanceRecord.of(self._load(s, ctx, [instance_id])[0])

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
            for row in rows:
                check_unlocked(ctx, row)
                _check_protected(row, event)
            targets = [next_state(r.id, State(r.state), event) for r in rows]
            check_host_can(s, rows, event)
            if event in ("start", "resume"):  # they take back their vCPUs and memory
                self.check_start(s, ctx, [r for r in rows if State(r.state) not in HOLDS_CPU])
            changes = [self._apply(r, event, target, force) for r, target in zip(rows, targets,
                                                                                  strict=True)]
        self.changed.set()
        for change in changes:
            log_transition(change.instance_id, ctx.project_id, change.previous, change.current,
                           f"user: {event}")
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

    # attributes ---------------------------------------------------------------------------
    def modify(self, ctx: Context, instance_id: str, change: AttributeChange) -> InstanceRecord:
        """Change one attribute; type and user data only while the instance is stopped."""
        with self.db.session() as s:
            row = self._load(s, ctx, [instance_id], lock=True)[0]
            if row.state == State.TERMINATED:
                raise Conflict("IncorrectInstanceState",
                               f"The instance '{row.id}' is not in a state from which it can "
                               "be modified.")
            if change.needs_stopped and row.state != State.STOPPED:
                raise Conflict("IncorrectInstanceState",
                               f"The instance '{row.id}' is not in the 'stopped' state.")
            change.apply(row)
            row.updated_at = utcnow().timestamp()
            record = InstanceRecord.of(row)
        self.changed.set()
        return record

    def console_output(self, ctx: Context, instance_id: str) -> bytes:
        row = self.get(ctx, instance_id)
        reader = self.console_readers.get(row.host_id or "")
        if reader is None or row.state == State.TERMINATED:
            return b""
        return reader(row.id)

    # the agent's side --------------------------------------------------------------------
    def for_host(self, host_id: str) -> list[Instance]:
        """The host's live instances as read-only rows with the model's attribute names: the
        agent reads them all at every tick, and plain rows cost a third of ORM objects."""
        with self.db.read() as s:
            return cast(list[Instance], list(s.execute(select(Instance.__table__).where(
                Instance.host_id == host_id, Instance.state != State.TERMINATED))))

    def changed_since(self, host_id: str, since: float) -> dict[str, float]:
        """ID -> change stamp of the host's instances changed at or after `since` (a
        time.time() value), terminated ones included."""
        with self.db.read() as s:
            return dict(s.execute(select(Instance.id, Instance.updated_at).where(
                Instance.host_id == host_id, Instance.updated_at >= since)).all())

    def rows(self, ids: Sequence[str]) -> list[Instance]:
        """These instances as read-only rows like for_host's."""
        with self.db.read() as s:
            return cast(list[Instance], list(s.execute(
                select(Instance.__table__).where(Instance.id.in_(ids)))))

    def known_ids(self, host_id: str) -> set[str]:
        with self.db.read() as s:
            return set(s.scalars(select(Instance.id).where(Instance.host_id == host_id)))

    def observe(self, instance_id: str, event: str, reason: tuple[str, str] | None = None,
                expected: State | None = None) -> State | None:
        """Record what the agent saw. Ignored (None) if the row moved on meanwhile."""
        done: list[Transition] = []
        with self.db.session() as s:
            row = s.scalar(select(Instance).where(Instance.id == instance_id)
                           .with_for_update())
            target = self._observe(s, row, event, reason, expected, done)
        for transition in done:
            log_transition(*transition)
        return target

    def observe_many(self, seen: Sequence[tuple[str, str, State]]) -> None:
        """Several (instance ID, event, expected state) observations in one transaction."""
        done: list[Transition] = []
        with self.db.session() as s:
            rows = {r.id: r for r in s.scalars(select(Instance).where(
                Instance.id.in_({i for i, _, _ in seen})).with_for_update())}
            for instance_id, event, expected in seen:
                self._observe(s, rows.get(instance_id), event, None, expected, done)
        for transition in done:
            log_transition(*transition)

    def _observe(self, s: Session, row: Instance | None, event: str,
                 reason: tuple[str, str] | None, expected: State | None,
                 done: list[Transition]) -> State | None:
        if row is None or (expected is not None and row.state != expected):
            return None
        if _terminates_on_shutdown(row, event, reason):
            event = "terminate"
            self.changed.set()  # the agent destroys it next
        target = next_state(row.id, State(row.state), event)
        done.append((row.id, row.project_id, State(row.state), target,
                     f"{event}: {reason[1]}" if reason else event))
        row.state = target
        if reason:
            row.state_reason_code = reason[0]
            row.state_reason_message = f"{reason[0]}: {reason[1]}"
        if target == State.TERMINATED:
            row.terminated_at = utcnow()
            row.private_ip = None
            row.public_ip = None
            forget_instance(s, row.id)  # its Elastic IPs stay allocated
            for hook in self.on_terminated:
                hook(s, row.id)
        if target in (State.STOPPED, State.TERMINATED):
            row.force_stop = False
            row.reboot_requested = False
        row.updated_at = utcnow().timestamp()
        return target

    def set_addresses(self, instance_id: str, private_ip: str | None,
                      public_ip: str | None) -> None:
        """Addresses a host reports for a live instance (a remote cloud's, a Hyper-V
        guest's): the public one replaces Overcast's, the private one only when given."""
        with self.db.session() as s:
            row = s.get(Instance, instance_id)
            if row is None or row.state == State.TERMINATED:
                return
            if private_ip:
                row.private_ip = private_ip
            row.public_ip = public_ip

    def reboot_done(self, instance_id: str) -> None:
        with self.db.session() as s:
            row = s.get(Instance, instance_id)
            if row is not None:
                row.reboot_requested = False
                row.updated_at = utcnow().timestamp()

    def purge_terminated(self) -> int:
        """Forget instances terminated longer ago than the retention period."""
        cutoff = utcnow() - self.retention
        with self.db.session() as s:
            gone = [r.id for r in s.scalars(select(Instance).where(
                Instance.state == State.TERMINATED))
                    if r.terminated_at is None or as_utc(r.terminated_at) < cutoff]
            if gone:
                s.execute(delete(Tag).where(Tag.resource_id.in_(gone)))
                s.execute(delete(InstanceSecurityGroup).where(
                    InstanceSecurityGroup.instance_id.in_(gone)))
                s.execute(delete(Instance).where(Instance.id.in_(gone)))
        return len(gone)
