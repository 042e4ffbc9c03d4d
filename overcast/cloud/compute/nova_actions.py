"""Nova's locks and instance actions (server events). A lock refuses every user action on
the instance to all but the cloud admin, on both faces; its kind says who may lift it. Each
action a user asks of an instance is recorded; it finishes when the instance settles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.db import Database, as_utc, utcnow
from overcast.db.models import Instance
from overcast.db.models_nova import InstanceAction
from overcast.errors import Conflict, Forbidden, NotFound
from overcast.identity.context import Context
from overcast.lifecycle import UNSETTLED, State

SETTLING_ACTIONS = frozenset({"create", "start", "stop", "delete", "reboot", "suspend",
                              "resume"})


def add_action(s: Session, ctx: Context, instance_id: str, action: str,
               request_id: str) -> None:
    """Record a Nova instance action in the caller's transaction."""
    now = utcnow()
    settles = action in SETTLING_ACTIONS
    s.add(InstanceAction(instance_id=instance_id, action=action, request_id=request_id,
                         user_id=ctx.user_id or None, project_id=ctx.project_id,
                         start_time=now, finish_time=None if settles else now,
                         result=None if settles else "Success"))


@dataclass(frozen=True)
class ActionView:
    action: str
    request_id: str
    user_id: str | None
    project_id: str
    start_time: datetime
    finish_time: datetime | None
    result: str | None
    message: str | None


def check_unlocked(ctx: Context, row: Instance) -> None:
    """What every user action asks first (the cloud admin acts on locked instances)."""
    if row.locked_by and not ctx.is_admin:
        raise Conflict("InstanceLocked", f"Instance {row.uuid} is locked")


class NovaActions:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _row(s: Session, ctx: Context, instance_id: str) -> Instance:
        row = s.scalar(select(Instance).where(
            Instance.id == instance_id, Instance.project_id == ctx.project_id)
            .with_for_update())
        if row is None:
            raise NotFound("InvalidInstanceID.NotFound",
                           f"The instance ID '{instance_id}' does not exist")
        return row

    def lock(self, ctx: Context, instance_id: str, reason: str | None) -> None:
        with self.db.session() as s:
            row = NovaActions._row(s, ctx, instance_id)
            if row.locked_by and row.locked_by == "admin" and not ctx.is_admin:
                raise Conflict("InstanceLocked", f"Instance {row.uuid} is locked")
            row.locked_by = "admin" if ctx.is_admin else "owner"
            row.locked_reason = reason
            row.updated_at = utcnow().timestamp()

    def unlock(self, ctx: Context, instance_id: str) -> None:
        with self.db.session() as s:
            row = NovaActions._row(s, ctx, instance_id)
            if row.locked_by == "admin" and not ctx.is_admin:
                raise Forbidden("Forbidden", "Only the cloud admin may unlock an instance "
                                "the admin locked.")
            row.locked_by, row.locked_reason = None, None
            row.updated_at = utcnow().timestamp()

    def record(self, ctx: Context, instance_id: str, action: str, request_id: str) -> None:
        with self.db.session() as s:
            add_action(s, ctx, instance_id, action, request_id)

    def recent(self, ctx: Context, limit: int = 10) -> list[tuple[str, ActionView]]:
        """The project's newest instance actions, newest first: (instance ID, action)."""
        with self.db.read() as s:
            found = s.execute(select(InstanceAction, Instance).join(
                Instance, Instance.id == InstanceAction.instance_id).where(
                InstanceAction.project_id == ctx.project_id,
                Instance.project_id == ctx.project_id)
                .order_by(InstanceAction.id.desc()).limit(limit)).all()
            return [(row.id, _view(item, row)) for item, row in found]

    def list(self, ctx: Context, instance_id: str) -> list[ActionView]:
        """The instance's actions, newest first; one that waited for the instance to settle
        is finished once it has (at the instance's last change)."""
        with self.db.read() as s:
            row = s.scalar(select(Instance).where(Instance.id == instance_id,
                                                  Instance.project_id == ctx.project_id))
            if row is None:
                return []
            found = s.scalars(select(InstanceAction).where(
                InstanceAction.instance_id == instance_id)
                .order_by(InstanceAction.id.desc())).all()
            return [_view(item, row) for item in found]


def _view(item: InstanceAction, row: Instance) -> ActionView:
    """An action as it stands: one that waited for the instance to settle is finished once
    it has (at the instance's last change)."""
    finish, result = item.finish_time, item.result
    if finish is None and State(row.state) not in UNSETTLED:
        changed = datetime.fromtimestamp(row.updated_at, UTC) if row.updated_at else None
        finish = max(changed or as_utc(item.start_time), as_utc(item.start_time))
        result = "Error" if row.state == State.TERMINATED and \
            item.action != "delete" else "Success"
    return ActionView(item.action, item.request_id, item.user_id, item.project_id,
                      as_utc(item.start_time), finish and as_utc(finish), result, item.message)
