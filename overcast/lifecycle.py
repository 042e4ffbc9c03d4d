"""Instance states and the one table of allowed transitions.

Both faces map these states to their own vocabulary; nothing else decides what may follow
what.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from overcast.errors import Conflict
from overcast.logs import event as log_event

log = logging.getLogger("overcast.instances")


class State(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    SHUTTING_DOWN = "shutting-down"
    TERMINATED = "terminated"
    # Nova's, beyond EC2's vocabulary: the guest frozen in memory, or saved to disk and gone
    PAUSED = "paused"
    SUSPENDING = "suspending"
    SUSPENDED = "suspended"


# EC2 has no paused or suspended instance: it shows them as the nearest state it has (as
# OpenStack's ec2-api approximates both with the stopped code); a start wakes them.
EC2_NAMES = {State.PAUSED: State.STOPPED, State.SUSPENDING: State.STOPPING,
             State.SUSPENDED: State.STOPPED}

# EC2's numeric state codes.
STATE_CODES = {
    State.PENDING: 0, State.RUNNING: 16, State.SHUTTING_DOWN: 32,
    State.TERMINATED: 48, State.STOPPING: 64, State.STOPPED: 80,
    State.PAUSED: 80, State.SUSPENDING: 64, State.SUSPENDED: 80,
}


def ec2_name(state: State | str) -> str:
    """The state as EC2 names it."""
    return str(EC2_NAMES.get(State(state), State(state)))

NOOP = "noop"

# (event, from) -> to. A target of NOOP means: accepted, nothing changes (EC2 answers with the
# current state). Anything missing is an IncorrectInstanceState.
TRANSITIONS: dict[tuple[str, State], State | str] = {
    # user actions
    ("start", State.STOPPED): State.PENDING,
    ("start", State.PENDING): NOOP,
    ("start", State.RUNNING): NOOP,
    ("stop", State.RUNNING): State.STOPPING,
    ("stop", State.STOPPING): NOOP,
    ("stop", State.STOPPED): NOOP,
    ("reboot", State.RUNNING): NOOP,
    ("terminate", State.PENDING): State.SHUTTING_DOWN,
    ("terminate", State.RUNNING): State.SHUTTING_DOWN,
    ("terminate", State.STOPPING): State.SHUTTING_DOWN,
    ("terminate", State.STOPPED): State.SHUTTING_DOWN,
    ("terminate", State.SHUTTING_DOWN): NOOP,
    ("terminate", State.TERMINATED): NOOP,
    ("pause", State.RUNNING): State.PAUSED,  # the agent freezes the guest
    ("unpause", State.PAUSED): State.RUNNING,
    ("start", State.PAUSED): State.RUNNING,
    ("stop", State.PAUSED): NOOP,  # EC2 sees it stopped already
    ("suspend", State.RUNNING): State.SUSPENDING,
    ("resume", State.SUSPENDED): State.PENDING,  # the host restores the saved guest
    ("start", State.SUSPENDED): State.PENDING,
    ("stop", State.SUSPENDING): NOOP,
    ("stop", State.SUSPENDED): NOOP,
    ("terminate", State.PAUSED): State.SHUTTING_DOWN,
    ("terminate", State.SUSPENDING): State.SHUTTING_DOWN,
    ("terminate", State.SUSPENDED): State.SHUTTING_DOWN,
    # what the agent observes
    ("booted", State.PENDING): State.RUNNING,
    ("powered_off", State.STOPPING): State.STOPPED,
    ("powered_off", State.RUNNING): State.STOPPED,  # guest shut down or crashed
    ("powered_off", State.PENDING): State.STOPPED,
    ("launch_failed", State.PENDING): State.TERMINATED,
    ("destroyed", State.SHUTTING_DOWN): State.TERMINATED,
    ("suspended", State.SUSPENDING): State.SUSPENDED,
    ("powered_off", State.PAUSED): State.STOPPED,  # qemu died or was quit while frozen
    ("powered_off", State.SUSPENDING): State.STOPPED,  # the save failed: the guest is gone
}

# The events a host's agent may report (the rest are users' actions)
AGENT_EVENTS = frozenset({"booted", "powered_off", "launch_failed", "destroyed"})

# What an instance in each state holds on its host: stopped instances keep their disk but
# give back CPU and memory.
# A paused guest keeps its memory; a suspended one is a file beside its disk.
HOLDS_CPU = frozenset({State.PENDING, State.RUNNING, State.STOPPING, State.SHUTTING_DOWN,
                       State.PAUSED, State.SUSPENDING})
HOLDS_DISK = HOLDS_CPU | {State.STOPPED, State.SUSPENDED}
# States the agent must drive to their end (a driver call is owed).
UNSETTLED = frozenset({State.PENDING, State.STOPPING, State.SHUTTING_DOWN, State.SUSPENDING})

# The states from which an action does something (a face that refuses no-ops, such as Nova,
# asks `acts_on`; EC2 answers no-ops with the current state through `next_state`).
ACTS_FROM: dict[str, frozenset[State]] = {
    "start": frozenset({State.STOPPED}),
    "stop": frozenset({State.RUNNING}),
    "reboot": frozenset({State.RUNNING}),
    "snapshot": frozenset({State.RUNNING, State.STOPPED}),
    "console": frozenset({State.RUNNING, State.STOPPED, State.STOPPING, State.PAUSED,
                          State.SUSPENDING, State.SUSPENDED}),
    "pause": frozenset({State.RUNNING}),
    "unpause": frozenset({State.PAUSED}),
    "suspend": frozenset({State.RUNNING}),
    "resume": frozenset({State.SUSPENDED}),
}
# The driver capability (a Capabilities field) each of these actions needs of the host.
NEEDS_CAPABILITY = {"pause": "pause", "unpause": "pause", "suspend": "suspend",
                    "resume": "suspend"}

VERBS = {"start": "started", "stop": "stopped", "reboot": "rebooted", "terminate": "terminated",
         "pause": "paused", "unpause": "unpaused", "suspend": "suspended", "resume": "resumed"}


class IncorrectInstanceState(Conflict):
    def __init__(self, instance_id: str, state: State, event: str) -> None:
        verb = VERBS.get(event, event)
        super().__init__(
            "IncorrectInstanceState",
            f"The instance '{instance_id}' is not in a state from which it can be {verb}.",
        )


def next_state(instance_id: str, state: State, event: str) -> State:
    """The state after `event`, or the same state for an accepted no-op."""
    target = TRANSITIONS.get((event, State(state)))
    if target is None:
        raise IncorrectInstanceState(instance_id, State(state), event)
    return State(state) if target == NOOP else State(target)


def acts_on(state: State | str, action: str) -> bool:
    """Whether `action` does something to an instance in `state` (see ACTS_FROM)."""
    return State(state) in ACTS_FROM[action]


def log_transition(instance_id: str, project_id: str, previous: State | None, current: State,
                   reason: str) -> None:
    """One log line per state change (nothing when the state stayed)."""
    if previous == current:
        return
    before = previous.value if previous is not None else "none"
    log_event(log, logging.INFO, f"instance {instance_id} {before} -> {current.value}",
              instance_id=instance_id, project=project_id, from_state=before,
              to_state=current.value, reason=reason)


# Volumes (EBS) ----------------------------------------------------------------------------

class VolumeState(StrEnum):
    CREATING = "creating"
    AVAILABLE = "available"
    IN_USE = "in-use"
    DELETING = "deleting"
    DELETED = "deleted"
    ERROR = "error"


class AttachmentState(StrEnum):
    ATTACHING = "attaching"
    ATTACHED = "attached"
    DETACHING = "detaching"
    DETACHED = "detached"


# (event, from) -> to for volumes; anything missing is an IncorrectState.
VOLUME_TRANSITIONS: dict[tuple[str, VolumeState], VolumeState] = {
    ("created", VolumeState.CREATING): VolumeState.AVAILABLE,
    # made for a launch's block-device mapping: attached to its instance from the start
    ("created_attached", VolumeState.CREATING): VolumeState.IN_USE,
    ("delete", VolumeState.CREATING): VolumeState.DELETING,  # its instance ended first
    ("create_failed", VolumeState.CREATING): VolumeState.ERROR,
    ("attach", VolumeState.AVAILABLE): VolumeState.IN_USE,
    ("detached", VolumeState.IN_USE): VolumeState.AVAILABLE,
    ("delete", VolumeState.AVAILABLE): VolumeState.DELETING,
    ("delete", VolumeState.ERROR): VolumeState.DELETING,
    ("delete", VolumeState.IN_USE): VolumeState.DELETING,  # DeleteOnTermination, instance gone
    ("deleted", VolumeState.DELETING): VolumeState.DELETED,
}

# (event, from) -> to for one attachment of a volume to an instance.
ATTACHMENT_TRANSITIONS: dict[tuple[str, AttachmentState], AttachmentState] = {
    ("attached", AttachmentState.ATTACHING): AttachmentState.ATTACHED,
    ("attach_failed", AttachmentState.ATTACHING): AttachmentState.DETACHED,
    ("detach", AttachmentState.ATTACHED): AttachmentState.DETACHING,
    ("detach", AttachmentState.ATTACHING): AttachmentState.DETACHING,
    ("detach", AttachmentState.DETACHING): AttachmentState.DETACHING,  # again, e.g. Force
    ("detached", AttachmentState.DETACHING): AttachmentState.DETACHED,
}

class SnapshotState(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    ERROR = "error"
    DELETING = "deleting"  # its file is being removed; no longer shown


SNAPSHOT_TRANSITIONS: dict[tuple[str, SnapshotState], SnapshotState] = {
    ("written", SnapshotState.PENDING): SnapshotState.COMPLETED,
    ("failed", SnapshotState.PENDING): SnapshotState.ERROR,
    ("delete", SnapshotState.COMPLETED): SnapshotState.DELETING,
    ("delete", SnapshotState.ERROR): SnapshotState.DELETING,
}


def next_snapshot_state(snapshot_id: str, state: SnapshotState | str,
                        event: str) -> SnapshotState:
    target = SNAPSHOT_TRANSITIONS.get((event, SnapshotState(state)))
    if target is None:
        raise Conflict("IncorrectState", f"The snapshot '{snapshot_id}' is '{state}' and "
                       f"cannot be {_past(event)}.")
    return target


# Instance states in which a volume may be attached or detached (EC2: running or stopped).
ATTACHABLE_INSTANCE = frozenset({State.RUNNING, State.STOPPED})
# Volumes that count against a project's quota and show in DescribeVolumes.
VOLUME_LIVE = frozenset(set(VolumeState) - {VolumeState.DELETED})


class IncorrectVolumeState(Conflict):
    def __init__(self, volume_id: str, state: str, event: str) -> None:
        super().__init__("IncorrectState",
                         f"The volume '{volume_id}' is '{state}' and cannot be "
                         f"{_past(event)}.")


def _past(event: str) -> str:
    return event + ("d" if event.endswith("e") else "ed")


def next_volume_state(volume_id: str, state: VolumeState | str, event: str) -> VolumeState:
    target = VOLUME_TRANSITIONS.get((event, VolumeState(state)))
    if target is None:
        raise IncorrectVolumeState(volume_id, str(state), event)
    return target


def next_attachment_state(volume_id: str, state: AttachmentState | str,
                          event: str) -> AttachmentState:
    target = ATTACHMENT_TRANSITIONS.get((event, AttachmentState(state)))
    if target is None:
        raise Conflict("IncorrectState", f"The attachment of volume '{volume_id}' is "
                       f"'{state}' and cannot be {_past(event)}.")
    return target
