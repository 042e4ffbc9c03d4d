"""The PSRP transport: what goes on the wire, and how an unreachable host is reported."""

from __future__ import annotations

import logging
import socket
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from pypsrp.complex_objects import Pipeline
from pypsrp.exceptions import WinRMError
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.serializer import Serializer
from pypsrp.wsman import WSMan

from overcast.drivers.hyperv import scripts
from overcast.drivers.hyperv.config import HostConfig
from overcast.drivers.hyperv.transport import (
    HostTimeout,
    HostUnreachable,
    PsrpTransport,
    RemoteError,
    _Session,
    pipeline,
)
from tests.hyperv.conftest import PASSWORD


def _clixml(script: scripts.Script, params: dict[str, object]) -> ET.Element:
    """The CreatePipeline payload pypsrp would send for this call."""
    pool = RunspacePool(WSMan("hv.test", username="u", password=PASSWORD, auth="ntlm"))
    pool.protocol_version = "2.3"  # what an opened pool learns from the host
    shell = pipeline(PowerShell(pool), script, params)
    message = Pipeline(is_nested=False, cmds=shell.commands, history=None,
                       redirect_err_to_out=False)
    return ET.fromstring(ET.tostring(Serializer().serialize(message)))


@settings(max_examples=80, deadline=None)
@given(name=st.text(max_size=40), path=st.text(max_size=40), marker=st.text(max_size=10))
def test_values_travel_as_clixml_data_beside_the_unchanged_script(name: str, path: str,
                                                                  marker: str) -> None:
    params = {"Name": name, "Directory": path, "Marker": marker}
    root = _clixml(scripts.DESTROY_VM, params)
    commands = [e for e in root.iter("S") if e.get("N") == "Cmd"]
    assert [Serializer().deserialize(c) for c in commands] == [scripts.DESTROY_VM.text]
    args = [e for e in root.iter("MS") if e.find("S[@N='N']") is not None]
    decoded = {a.find("S[@N='N']").text: Serializer().deserialize(a.find("*[@N='V']"))
               for a in args}
    assert decoded == params


@settings(max_examples=30, deadline=None)
@given(size=st.integers(0, 2**62), turn_off=st.booleans(), name=st.text(max_size=20))
def test_numbers_travel_as_int64_and_flags_as_booleans(size: int, turn_off: bool,
                                                       name: str) -> None:
    """A 10 GiB disk does not fit an Int32, which is how pypsrp tags a bare int."""
    params = {"Name": name, "TimeoutSeconds": size, "TurnOff": turn_off}
    root = _clixml(scripts.STOP_VM, params)
    values = {a.find("S[@N='N']").text: a.find("*[@N='V']")
              for a in root.iter("MS") if a.find("S[@N='N']") is not None}
    assert values["TimeoutSeconds"].tag == "I64" and values["TurnOff"].tag == "B"
    assert {k: Serializer().deserialize(v) for k, v in values.items()} == params


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_host_that_refuses_is_unreachable_and_the_password_stays_out_of_logs(
        caplog: pytest.LogCaptureFixture) -> None:
    config = HostConfig(name="hv", address="127.0.0.1", port=_closed_port(), username="svc",
                        password=PASSWORD, auth="ntlm", cert_validation=False,
                        connect_timeout=3)
    caplog.set_level(logging.DEBUG)
    transport = PsrpTransport(config)
    started = time.monotonic()
    with pytest.raises(HostUnreachable) as failure:
        transport.run(scripts.PING, {}, timeout=10)
    assert time.monotonic() - started < 10
    assert "cannot reach Hyper-V host hv" in str(failure.value)
    assert PASSWORD not in str(failure.value)
    assert PASSWORD not in caplog.text
    assert PASSWORD not in repr(config)
    transport.close()


def test_a_host_that_accepts_but_never_answers_times_out(caplog: pytest.LogCaptureFixture
                                                          ) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    config = HostConfig(name="hv", address="127.0.0.1", port=listener.getsockname()[1],
                        username="svc", password=PASSWORD, auth="ntlm",
                        cert_validation=False, connect_timeout=2)
    caplog.set_level(logging.DEBUG)
    try:
        started = time.monotonic()
        with pytest.raises(HostUnreachable):
            PsrpTransport(config).run(scripts.PING, {}, timeout=5)
        assert time.monotonic() - started < 40
    finally:
        listener.close()
    assert PASSWORD not in caplog.text


class FakeShell:
    """Stands in for pypsrp's PowerShell: runs for `polls` receives, or forever."""

    polls: int | None = 2
    instances: list[FakeShell] = []

    def __init__(self, pool: object) -> None:
        from pypsrp.complex_objects import PSInvocationState

        self.states = PSInvocationState
        self.state = PSInvocationState.NOT_STARTED
        self.output: list[str] = []
        self.streams = type("Streams", (), {"error": []})()
        self.stopped = False
        self.received: list[int | None] = []
        FakeShell.instances.append(self)

    def add_script(self, text: str) -> FakeShell:
        self.script = text
        return self

    def add_parameters(self, params: dict[str, object]) -> FakeShell:
        self.params = params
        return self

    def begin_invoke(self) -> None:
        self.state = self.states.RUNNING

    def poll_invoke(self, timeout: int | None = None) -> None:
        self.received.append(timeout)
        time.sleep(0.05)
        if FakeShell.polls is not None and len(self.received) >= FakeShell.polls:
            self.output.append('"5.1.20348.2849"')
            self.state = self.states.COMPLETED

    def stop(self) -> None:
        self.stopped = True
        self.state = self.states.STOPPED


class FakeSession(_Session):
    opened = 0

    def __init__(self, config: HostConfig) -> None:  # no network: only the pipeline logic
        FakeSession.opened += 1
        self.pool = object()
        self.closed = False

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_pypsrp(monkeypatch: pytest.MonkeyPatch) -> type[FakeShell]:
    monkeypatch.setattr("pypsrp.powershell.PowerShell", FakeShell)
    monkeypatch.setattr("overcast.drivers.hyperv.transport._Session", FakeSession)
    FakeShell.instances, FakeShell.polls, FakeSession.opened = [], 2, 0
    return FakeShell


def _transport() -> PsrpTransport:
    return PsrpTransport(HostConfig(name="hv", address="hv.test", username="u",
                                    password=PASSWORD))


def test_a_call_polls_until_done_and_its_session_is_reused(fake_pypsrp: type[FakeShell]
                                                           ) -> None:
    transport = _transport()
    for _ in range(2):
        result = transport.run(scripts.PING, {}, timeout=30)
        assert result.output == ['"5.1.20348.2849"'] and result.errors == []
    assert FakeSession.opened == 1
    shell = fake_pypsrp.instances[-1]
    assert shell.script == scripts.PING.text and shell.params == {}
    assert all(t is not None and 1 <= t <= 5 for t in shell.received)


def test_a_call_past_its_deadline_is_stopped_and_its_session_dropped(
        fake_pypsrp: type[FakeShell]) -> None:
    fake_pypsrp.polls = None  # the host never finishes
    transport = _transport()
    started = time.monotonic()
    with pytest.raises(HostTimeout, match="ping did not finish in time"):
        transport.run(scripts.PING, {}, timeout=0.5)
    assert time.monotonic() - started < 3
    assert fake_pypsrp.instances[-1].stopped
    fake_pypsrp.polls = 1
    transport.run(scripts.PING, {}, timeout=5)
    assert FakeSession.opened == 2  # the timed-out session was not reused


def test_parameters_must_match_the_param_block(fake_pypsrp: type[FakeShell]) -> None:
    with pytest.raises(ValueError, match="do not match"):
        _transport().run(scripts.START_VM, {"Name": "i-1", "Extra": "x"}, timeout=5)


@pytest.mark.parametrize(("raised", "expected"), [
    (WinRMError("Failed to copy file: There is not enough space on the disk."), RemoteError),
    (requests.exceptions.ConnectionError("connection reset"), HostUnreachable),
    (None, HostTimeout),  # the copy never ends
])
def test_copy_failures_are_told_apart(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                      raised: Exception | None, expected: type) -> None:
    class FakeClient:
        def __init__(self, server: str, **options: object) -> None:
            assert options["password"] == PASSWORD  # handed to pypsrp, nowhere else

        def copy(self, src: str, dest: str) -> str:
            if raised is None:
                time.sleep(2)
                return dest
            raise raised

    monkeypatch.setattr("pypsrp.client.Client", FakeClient)
    local = tmp_path / "disk.vhdx"
    local.write_bytes(b"vhdxfile")
    with pytest.raises(expected) as failure:
        _transport().copy(local, "D:\\overcast\\images\\x.vhdx", timeout=0.5)
    assert PASSWORD not in str(failure.value)
    if expected is RemoteError:
        assert str(failure.value) == ("Hyper-V host: Failed to copy file: There is not "
                                      "enough space on the disk.")
