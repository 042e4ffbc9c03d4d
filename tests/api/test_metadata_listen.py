"""`overcast up` keeps the metadata service off the network unless told to, and the service it
starts answers only relays that hold the cloud's key: checked as a user would, with the
`overcast` command as a subprocess and plain sockets."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import RunningCloud, cloud_env, free_port

PUBLIC_SWITCH = "--metadata-listen-public"


def up_argv(cloud: RunningCloud, *flags: str) -> list[str]:
    return [sys.executable, "-m", "overcast.cli.main", "up", "--data-dir", str(cloud.data_dir),
            "--listen", f"127.0.0.1:{cloud.port}", *flags]


def start_with(cloud: RunningCloud, *flags: str) -> None:
    """RunningCloud.start with extra flags for `overcast up`."""
    cloud.log_path = cloud.data_dir.parent / "up.log"
    with open(cloud.log_path, "wb") as log:
        cloud.process = subprocess.Popen(up_argv(cloud, *flags), env=cloud.env, stdout=log,
                                         stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while not (cloud.data_dir / "run.json").exists():
        assert cloud.process.poll() is None, cloud.log_path.read_text()
        assert time.monotonic() < deadline, cloud.log_path.read_text()
        time.sleep(0.05)


def metadata_says(port: int, first_line: bytes) -> tuple[bytes, bytes]:
    """(the server's first line, what it says after `first_line` and a guest's request)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        stream = sock.makefile("rb")
        challenge = stream.readline(256)
        sock.sendall(first_line + b"GET /latest/user-data HTTP/1.0\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        return challenge, stream.read()


def nothing_listens(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_a_public_metadata_listen_is_refused_without_the_switch(tmp_path: Path) -> None:
    port = free_port()
    cloud = RunningCloud(tmp_path / "data", free_port(),
                         cloud_env(tmp_path, metadata_listen=f"0.0.0.0:{port}"))
    done = subprocess.run(up_argv(cloud), env=cloud.env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: metadata service: METADATA_LISTEN 0.0.0.0:{port} is not a loopback address: "
        "guests' metadata would be served to the network; pass --metadata-listen-public or "
        "set OVERCAST_METADATA_LISTEN_PUBLIC=1 to allow it"]
    assert "Traceback" not in done.stdout + done.stderr
    assert nothing_listens(port) and nothing_listens(cloud.port)


def test_the_switch_allows_it_and_the_service_still_wants_a_signature(tmp_path: Path) -> None:
    port = free_port()
    cloud = RunningCloud(tmp_path / "data", free_port(),
                         cloud_env(tmp_path, metadata_listen=f"0.0.0.0:{port}"))
    start_with(cloud, PUBLIC_SWITCH)
    try:
        challenge, said = metadata_says(port, b"OVERCAST-INSTANCE i-0123456789abcdef0\r\n")
        assert challenge.startswith(b"OVERCAST-CHALLENGE ") and said == b""
        key_file = cloud.data_dir / "metadata-relay.key"
        assert key_file.stat().st_mode & 0o777 == 0o600
    finally:
        assert cloud.stop() == 0


def test_the_setting_allows_it_too(tmp_path: Path) -> None:
    port = free_port()
    cloud = RunningCloud(tmp_path / "data", free_port(),
                         cloud_env(tmp_path, metadata_listen=f"0.0.0.0:{port}",
                                   metadata_listen_public=1))
    cloud.start()
    try:
        assert metadata_says(port, b"\r\n")[0].startswith(b"OVERCAST-CHALLENGE ")
    finally:
        assert cloud.stop() == 0
