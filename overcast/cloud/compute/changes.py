"""The signal that the agents have work to do, readable by many waiters at once."""

from __future__ import annotations

import threading


class ChangeSignal(threading.Event):
    """An Event (the in-process agent waits on it and clears it) that also counts: each set()
    moves a generation on, so any number of remote agents' long-polls each see every change,
    whoever cleared the event meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self._counted = threading.Condition()
        self.generation = 0

    def set(self) -> None:
        with self._counted:
            self.generation += 1
            self._counted.notify_all()
        super().set()

    def wait_past(self, generation: int, timeout: float) -> int:
        """The generation once it is past `generation`, or as it is after `timeout`."""
        with self._counted:
            self._counted.wait_for(lambda: self.generation != generation, timeout)
            return self.generation
