"""Running the driver's scripts on a Hyper-V host: the Transport protocol and its PSRP
implementation over pypsrp (WinRM / PowerShell remoting).

A script travels as its constant text plus a dict of parameters; pypsrp serializes the values
as CLIXML data, so they never become PowerShell syntax. Every call has a deadline. Passwords
stay in HostConfig (whose repr hides them) and are handed only to pypsrp.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from overcast.drivers.base import DriverError
from overcast.drivers.hyperv.config import HostConfig
from overcast.drivers.hyperv.scripts import Script

log = logging.getLogger("overcast.hyperv")
POLL_SECONDS = 5  # one WSMan receive waits at most this long before we look at the clock
SESSIONS = 4  # concurrent remoting sessions per host (list() must not queue behind a stop)


@dataclass(frozen=True)
class PsError:
    """One PowerShell error record, as the host reported it."""

    message: str
    fully_qualified_error_id: str = ""
    category: str = ""

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class RunResult:
    output: list[Any] = field(default_factory=list)
    errors: list[PsError] = field(default_factory=list)


class HostUnreachable(Exception):
    """The host did not answer (network, TLS, authentication, WinRM service).

    Deliberately not a DriverError: the agent fails a launch on DriverError, while an
    unanswered call must leave every instance as it is, to be tried again on a later tick.
    """


class HostTimeout(HostUnreachable):
    """A remote call did not finish before its deadline."""


class RemoteError(DriverError):
    """A script ran and failed; carries the host's error records."""

    def __init__(self, script: str, errors: list[PsError]) -> None:
        self.script, self.errors = script, errors
        first = errors[0].message if errors else "unknown error"
        super().__init__(f"Hyper-V host: {first}")

    def has_id(self, fragment: str) -> bool:
        return any(fragment in e.fully_qualified_error_id for e in self.errors)


class Transport(Protocol):
    def run(self, script: Script, params: dict[str, Any], timeout: float) -> RunResult:
        """Run one script to completion or raise HostUnreachable / HostTimeout."""

    def copy(self, local: Path, remote: str, timeout: float) -> None:
        """Put a local file at `remote` on the host (whole or not at all)."""

    def close(self) -> None: ...


def check_params(script: Script, params: dict[str, Any]) -> None:
    if set(params) != set(script.params):
        raise ValueError(f"{script.name}: parameters {sorted(params)} "
                         f"do not match {sorted(script.params)}")


def wsman_options(config: HostConfig) -> dict[str, Any]:
    """Keyword arguments for pypsrp's WSMan (and Client): the password is among them."""
    operation = POLL_SECONDS + 15
    return {
        "server": config.address, "port": config.port, "username": config.username,
        "password": config.password, "ssl": config.use_tls, "auth": config.auth,
        "cert_validation": config.cert_validation,
        "connection_timeout": int(config.connect_timeout), "operation_timeout": operation,
        "read_timeout": operation + 10,
    }


def describe_failure(exc: BaseException, config: HostConfig) -> str:
    """A short, password-free description of why a remote call failed."""
    text = f"{type(exc).__name__}: {exc}"[:300]
    return text.replace(config.password, "***") if config.password else text


def error_from_record(record: Any) -> PsError:
    """pypsrp's ErrorRecord (or anything with the same attributes) as a PsError."""
    message = str(record) or getattr(record, "message", "") or "error"
    return PsError(message=message,
                   fully_qualified_error_id=getattr(record, "fq_error", "") or "",
                   category=getattr(record, "message", "") or "")


def pipeline(shell: Any, script: Script, params: dict[str, Any]) -> Any:
    """The script as one PSRP command, its values as that command's parameters (data).
    Integers go as Int64: pypsrp would tag every int as Int32, and disk sizes overflow it."""
    from pypsrp.serializer import TaggedValue

    typed = {k: TaggedValue("I64", v) if isinstance(v, int) and not isinstance(v, bool) else v
             for k, v in params.items()}
    return shell.add_script(script.text).add_parameters(typed)


class _Session:
    """One open runspace pool on the host."""

    def __init__(self, config: HostConfig) -> None:
        from pypsrp.powershell import RunspacePool
        from pypsrp.wsman import WSMan

        self.wsman = WSMan(**wsman_options(config))
        self.pool = RunspacePool(self.wsman)
        self.pool.open()

    def run(self, script: Script, params: dict[str, Any], deadline: float) -> RunResult:
        from pypsrp.complex_objects import PSInvocationState
        from pypsrp.powershell import PowerShell

        shell = pipeline(PowerShell(self.pool), script, params)
        shell.begin_invoke()
        while shell.state == PSInvocationState.RUNNING:
            left = deadline - time.monotonic()
            if left <= 0:
                shell.stop()
                raise HostTimeout(f"Hyper-V host: {script.name} did not finish in time")
            shell.poll_invoke(timeout=max(1, min(POLL_SECONDS, int(left))))
        errors = [error_from_record(r) for r in shell.streams.error]
        return RunResult(output=list(shell.output), errors=errors)

    def close(self) -> None:
        try:
            self.pool.close()
        except Exception:  # the host may be gone; nothing more to release here
            log.debug("closing a remoting session failed", exc_info=True)


class PsrpTransport:
    """PowerShell remoting to one host, with a few reusable sessions."""

    def __init__(self, config: HostConfig, sessions: int = SESSIONS) -> None:
        self.config = config
        self._idle: queue.LifoQueue[_Session] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(sessions)

    def _connect(self) -> _Session:
        try:
            return _Session(self.config)
        except Exception as exc:
            raise HostUnreachable(f"cannot reach Hyper-V host {self.config.name} "
                                  f"({self.config.address}:{self.config.port}): "
                                  f"{describe_failure(exc, self.config)}") from exc

    def run(self, script: Script, params: dict[str, Any], timeout: float) -> RunResult:
        check_params(script, params)
        deadline = time.monotonic() + timeout
        if not self._slots.acquire(timeout=timeout):
            raise HostTimeout(f"Hyper-V host {self.config.name}: no free session in time")
        try:
            try:
                session = self._idle.get_nowait()
            except queue.Empty:
                session = self._connect()
            log.debug("host %s: running %s", self.config.name, script.name)
            try:
                result = session.run(script, params, deadline)
            except HostTimeout:
                session.close()
                raise
            except Exception as exc:
                session.close()
                why = describe_failure(exc, self.config)
                raise HostUnreachable(f"Hyper-V host {self.config.name}: {script.name} "
                                      f"failed in transit: {why}") from exc
            self._idle.put(session)
            return result
        finally:
            self._slots.release()

    def copy(self, local: Path, remote: str, timeout: float) -> None:
        """pypsrp's Client.copy: chunks over PSRP, SHA-1 checked, moved into place at the end.
        Each WSMan request is bounded by read_timeout; the copy as a whole by `timeout`."""
        from pypsrp.client import Client

        done: list[BaseException | None] = []

        def work() -> None:
            try:
                options = wsman_options(self.config)
                Client(options.pop("server"), **options).copy(str(local), remote)
                done.append(None)
            except BaseException as exc:  # handed to the caller's thread below
                done.append(exc)

        worker = threading.Thread(target=work, name="hyperv-copy", daemon=True)
        worker.start()
        worker.join(timeout)
        if not done:
            raise HostTimeout(f"Hyper-V host {self.config.name}: copying {local.name} "
                              "did not finish in time")
        failure = done[0]
        # the copy script ran and failed
        if failure is not None and type(failure).__name__ == "WinRMError":
            raise RemoteError("copy", [PsError(describe_failure(failure, self.config)
                                               .removeprefix("WinRMError: "))])
        if failure is not None:
            raise HostUnreachable(f"Hyper-V host {self.config.name}: copying {local.name} "
                                  f"failed: {describe_failure(failure, self.config)}"
                                  ) from failure

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
