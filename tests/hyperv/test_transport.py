"""The PSRP transport: what goes on the wire, and how an unreachable host is reported."""

from __future__ import annotations

import logging
import socket
import time
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypsrp.complex_objects import Pipeline
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.serializer import Serializer
from pypsrp.wsman import WSMan

from overcast.drivers.hyperv import scripts
from overcast.drivers.hyperv.config import HostConfig
from overcast.drivers.hyperv.transport import HostUnreachable, PsrpTransport, pipeline
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
