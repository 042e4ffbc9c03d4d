"""The metadata service on the kernel data plane: a guest reaches 169.254.169.254 through its
port, and the instance its request speaks for is the port's, whatever source it forges."""

from __future__ import annotations

import secrets
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from overcast.drivers.network.kernel import KernelNetwork
from overcast.drivers.network.kernel.metadata import MetadataRelays
from overcast.metadata import relayauth
from tests.netplane.conftest import Plane, allow_all, anywhere, namespaces

ASK = ("import socket,sys; s=socket.create_connection(('169.254.169.254', 80), 2); "
       "s.sendall(b'who'); s.shutdown(socket.SHUT_WR); print(s.recv(200).decode())")


class StubMetadataServer:
    """Challenges each connection and answers with the instance the relay's line names."""

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.endpoint = self.sock.getsockname()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                challenge = relayauth.new_challenge()
                conn.sendall(relayauth.challenge_line(challenge))
                line = conn.makefile("rb").readline()
                instance = relayauth.verified_instance(self.key, challenge, line)
                conn.sendall(f"instance={instance}".encode())


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Plane, StubMetadataServer]]:
    key = secrets.token_bytes(32)
    key_file = tmp_path / "relay.key"
    key_file.write_text(key.hex())
    server = StubMetadataServer(key)
    made = Plane(KernelNetwork(tmp_path / "network",
                               metadata=MetadataRelays(server.endpoint, key_file)))
    try:
        yield made, server
    finally:
        made.cleanup()
        server.sock.close()
    assert made.netns not in namespaces()


def test_each_port_reads_as_its_own_instance(served: tuple[Plane, StubMetadataServer]) -> None:
    plane, _ = served
    plane.group("sg-a", ingress=(allow_all("sg-a"),), egress=(anywhere(),))
    a, b = plane.guest(60, ("sg-a",)), plane.guest(61, ("sg-a",))
    assert plane.apply().pending_ports == ()
    assert a.run("python3", "-c", ASK).stdout.strip() == f"instance={a.port().id}"
    assert b.run("python3", "-c", ASK).stdout.strip() == f"instance={b.port().id}"
    # b forges a's address: the guard drops it, and the port would still be b's
    b.run("ip", "addr", "add", f"{a.address}/32", "dev", "eth0")
    forged = ASK.replace("('169.254.169.254', 80), 2)",
                         f"('169.254.169.254', 80), 2, ('{a.address}', 0))")
    assert f"instance={a.port().id}" not in b.run("python3", "-c", forged).stdout
    plane.guests.remove(b)  # its port goes: so does its listener
    plane.apply()
    plane.guests.append(b)
    assert "instance=" not in b.run("python3", "-c", ASK).stdout
