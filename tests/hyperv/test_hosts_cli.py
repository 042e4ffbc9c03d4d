"""`overcast host add/check/list` against a real database, and `host check` through the real
PSRP transport to an address where nothing answers."""

from __future__ import annotations

import socket
import sqlite3
import time
from pathlib import Path

import pytest

from overcast.cli.main import main
from tests.hyperv.conftest import PASSWORD


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "hv.pw"
    path.write_text(PASSWORD + "\n")
    path.chmod(0o600)
    return path


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def add(data_dir: Path, password_file: Path, name: str = "hv01", port: int = 5986) -> int:
    return main(["host", "add", name, "--driver", "hyperv", "--address", "127.0.0.1",
                 "--port", str(port), "--username", "CORP\\svc", "--password-file",
                 str(password_file), "--auth", "ntlm", "--cert-validation", "off",
                 "--vm-path", "D:\\overcast", "--switch", "External", "--data-dir",
                 str(data_dir)])


def test_add_list_and_the_password_is_sealed(data_dir: Path, password_file: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert add(data_dir, password_file) == 0
    added = capsys.readouterr().out
    assert "host hv01: hyperv at https://127.0.0.1:5986/wsman (ntlm)" in added
    assert main(["host", "list", "--data-dir", str(data_dir)]) == 0
    listing = capsys.readouterr().out
    line = next(x for x in listing.splitlines() if x.startswith("hv01"))
    assert "hyperv" in line and "new" in line and "127.0.0.1:5986" in line
    with sqlite3.connect(data_dir / "overcast.db") as db:
        sealed, = db.execute("SELECT password_encrypted FROM hyperv_hosts").fetchone()
    assert PASSWORD.encode() not in sealed and len(sealed) > len(PASSWORD)
    assert PASSWORD.encode() not in (data_dir / "overcast.db").read_bytes()
    assert PASSWORD not in added + listing

    assert add(data_dir, password_file) == 1
    assert "already exists" in capsys.readouterr().err


def test_a_missing_or_empty_password_file_is_refused(data_dir: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert add(data_dir, tmp_path / "nope") == 1
    assert "cannot read the password file" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.write_text("")
    assert add(data_dir, empty) == 1
    assert "is empty" in capsys.readouterr().err


def test_check_reports_each_step_and_fails_where_nothing_answers(
        data_dir: Path, password_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert add(data_dir, password_file, port=closed_port()) == 0
    capsys.readouterr()
    started = time.monotonic()
    assert main(["host", "check", "hv01", "--data-dir", str(data_dir)]) == 1
    assert time.monotonic() - started < 30
    out = capsys.readouterr().out
    assert "FAIL connect: cannot reach Hyper-V host hv01 (127.0.0.1:" in out
    assert "host hv01: NOT usable" in out
    assert PASSWORD not in out
    assert main(["host", "check", "nosuch", "--data-dir", str(data_dir)]) == 1


def test_remove_forgets_the_host(data_dir: Path, password_file: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert add(data_dir, password_file) == 0
    assert main(["host", "remove", "hv01", "--data-dir", str(data_dir)]) == 0
    assert "host hv01 removed" in capsys.readouterr().out
    with sqlite3.connect(data_dir / "overcast.db") as db:
        assert db.execute("SELECT count(*) FROM hyperv_hosts").fetchone() == (0,)
    assert main(["host", "remove", "hv01", "--data-dir", str(data_dir)]) == 1
    assert "no Hyper-V host named hv01" in capsys.readouterr().err
    assert add(data_dir, password_file) == 0  # the name is free again
