"""Probing a QMP socket that QEMU has not made yet is normal while it starts: no ERROR log for
it. A socket that exists but refuses still fails, with its cause."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from overcast.drivers.qemu import qmp


def test_a_socket_not_there_yet_is_unreachable_without_an_error_log(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert not qmp.reachable(str(tmp_path / "qmp.sock"), timeout=1.0)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


def test_a_socket_nobody_serves_fails_with_its_cause(tmp_path: Path) -> None:
    path = tmp_path / "qmp.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))  # bound, never listening: connections are refused
        with pytest.raises(qmp.QmpFailure, match="ConnectionRefused"):
            qmp.execute(str(path), "query-status", timeout=1.0)
