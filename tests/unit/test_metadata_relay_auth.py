"""Who may speak for an instance: only a relay holding the cloud's relay key.

Over real sockets: the metadata server, and the relay script QEMU runs for each guest
connection (run here as QEMU runs it, the connection as its stdin and stdout). Anything that
is not a signed answer to this connection's challenge gets no byte back.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from overcast.drivers.qemu.network import relay_command
from overcast.metadata import relayauth
from overcast.metadata.server import MetadataServer
from tests.unit.test_metadata_server import FACTS

A, B, _ = FACTS
RELAY_KEY = b"k" * 32
GET_ID = b"GET /latest/meta-data/instance-id HTTP/1.0\r\nHost: 169.254.169.254\r\n\r\n"


@pytest.fixture(scope="module")
def server() -> Iterator[MetadataServer]:
    srv = MetadataServer(FACTS.get, "127.0.0.1", 0, relay_key=RELAY_KEY)
    srv.start()
    yield srv
    srv.stop()


def talk(server: MetadataServer, first_line: bytes | None, request: bytes = GET_ID) -> bytes:
    """Connect, read the challenge (if the server sends one), send `first_line` or, when it is
    None, the signed line for A, then the request; everything the server said after the
    challenge."""
    with socket.create_connection(server.endpoint, timeout=5) as sock:
        stream = sock.makefile("rb")
        challenge = stream.readline(256)
        assert challenge.startswith(b"OVERCAST-CHALLENGE "), challenge
        nonce = challenge.split()[1].decode()
        line = first_line if first_line is not None else signed(A, nonce, RELAY_KEY)
        sock.sendall(line + request)
        sock.shutdown(socket.SHUT_WR)
        return stream.read()


def signed(instance: str, nonce: str, key: bytes) -> bytes:
    return f"OVERCAST-INSTANCE {instance} {relayauth.signature(key, nonce, instance)}\r\n".encode()


def test_a_signed_line_answered_to_this_challenge_reads_the_instance(
        server: MetadataServer) -> None:
    reply = talk(server, None)
    assert reply.startswith(b"HTTP/1.0 200") and reply.endswith(A.encode())


def test_a_plain_preamble_gets_nothing(server: MetadataServer) -> None:
    assert talk(server, f"OVERCAST-INSTANCE {A}\r\n".encode()) == b""


@pytest.mark.parametrize("line", [
    f"OVERCAST-INSTANCE {A} {'0' * 64}\r\n",
    f"OVERCAST-INSTANCE {A} not-hex\r\n",
    f"OVERCAST-INSTANCE {A} \r\n",
    f"OVERCAST-INSTANCE {A} {'é' * 64}\r\n",
    "GET / HTTP/1.0\r\n",
    "\r\n",
])
def test_a_wrong_or_missing_signature_gets_nothing(server: MetadataServer, line: str) -> None:
    assert talk(server, line.encode()) == b""


def test_a_signature_made_with_another_key_gets_nothing(server: MetadataServer) -> None:
    with socket.create_connection(server.endpoint, timeout=5) as sock:
        stream = sock.makefile("rb")
        nonce = stream.readline(256).split()[1].decode()
        sock.sendall(signed(A, nonce, b"x" * 32) + GET_ID)
        sock.shutdown(socket.SHUT_WR)
        assert stream.read() == b""


def test_another_instances_signature_gets_nothing(server: MetadataServer) -> None:
    with socket.create_connection(server.endpoint, timeout=5) as sock:
        stream = sock.makefile("rb")
        nonce = stream.readline(256).split()[1].decode()
        b_signature = relayauth.signature(RELAY_KEY, nonce, B)
        sock.sendall(f"OVERCAST-INSTANCE {A} {b_signature}\r\n".encode() + GET_ID)
        sock.shutdown(socket.SHUT_WR)
        assert stream.read() == b""


def test_a_replayed_line_gets_nothing(server: MetadataServer) -> None:
    """A line seen once (on the wire, in a log) is useless on any other connection."""
    with socket.create_connection(server.endpoint, timeout=5) as sock:
        stream = sock.makefile("rb")
        nonce = stream.readline(256).split()[1].decode()
        seen = signed(A, nonce, RELAY_KEY)
        sock.sendall(seen + GET_ID)
        sock.shutdown(socket.SHUT_WR)
        assert stream.read().endswith(A.encode())
    assert talk(server, seen) == b""


def test_each_connection_gets_a_fresh_challenge(server: MetadataServer) -> None:
    def challenge() -> bytes:
        with socket.create_connection(server.endpoint, timeout=5) as sock:
            return sock.makefile("rb").readline(256)

    assert challenge() != challenge()


def run_relay(argv: list[str], cwd: Path, request: bytes) -> tuple[int, bytes]:
    """Run a relay command as QEMU's guestfwd does, the guest's connection as its stdin and
    stdout: (its exit status, what the guest read)."""
    guest, relay_end = socket.socketpair()
    reply = b""
    with guest:
        proc = subprocess.Popen(argv, stdin=relay_end, stdout=relay_end, cwd=cwd)
        relay_end.close()
        guest.settimeout(10)
        try:
            guest.sendall(request)
            while chunk := guest.recv(65536):
                reply += chunk
        except ConnectionResetError:
            pass  # the relay gave up before reading what the guest sent
    return proc.wait(timeout=10), reply


def test_the_relay_signs_for_its_instance(server: MetadataServer, tmp_path: Path) -> None:
    key_file = tmp_path / "relay.key"
    key_file.write_bytes(RELAY_KEY.hex().encode())
    command = relay_command(A, server.endpoint, key_file)
    status, reply = run_relay(["/bin/sh", "-c", command], tmp_path, GET_ID)
    assert reply.startswith(b"HTTP/1.0 200") and reply.endswith(A.encode())
    assert status == 0


def test_a_relay_with_the_wrong_key_reads_nothing(server: MetadataServer,
                                                  tmp_path: Path) -> None:
    key_file = tmp_path / "other.key"
    key_file.write_bytes((b"y" * 32).hex().encode())
    command = relay_command(A, server.endpoint, key_file)
    assert run_relay(["/bin/sh", "-c", command], tmp_path, GET_ID)[1] == b""


def test_a_relay_without_its_key_file_reads_nothing(server: MetadataServer,
                                                    tmp_path: Path) -> None:
    relay = Path(relay_command(A, server.endpoint, tmp_path / "x").split()[3])
    host, port = server.endpoint
    argv = [sys.executable, "-I", "-S", str(relay), A, host, str(port), str(tmp_path / "gone")]
    assert run_relay(argv, tmp_path, GET_ID) == (1, b"")
    assert "gone" in (tmp_path / "metadata-relay.log").read_text()


def test_the_key_file_is_made_once_for_the_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "metadata-relay.key"
    key = relayauth.ensure_key(path)
    assert len(key) == 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert relayauth.ensure_key(path) == key
    path.chmod(0o644)
    assert relayauth.ensure_key(path) == key
    assert path.stat().st_mode & 0o777 == 0o600
