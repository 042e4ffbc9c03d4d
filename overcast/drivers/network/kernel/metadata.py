"""The metadata service on the kernel data plane: 169.254.169.254:80 inside each VPC's
namespace, one listening socket per port, bound to the port's tap (SO_BINDTODEVICE).

A connection is accepted only by the listener of the tap it arrived on, so the instance it
speaks for comes from the port, never from the packet's source address (the guard chain drops
forged sources as well). Each connection is relayed to the metadata server in the host's
namespace, answering the server's challenge with the relay key as QEMU's per-guest relay does
(overcast/metadata/relayauth.py describes the exchange).

Listening sockets are made in the VPC's namespace by a short-lived thread that enters it
(setns); everything else runs in the host's namespace, where the metadata server listens.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import os
import selectors
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from overcast.drivers.network.base import NetworkError
from overcast.drivers.network.kernel import commands
from overcast.drivers.qemu.mdrelay import answer

METADATA_IP = "169.254.169.254"
METADATA_PORT = 80
CLONE_NEWNET = 0x40000000
CHUNK = 65536
CONNECT_TIMEOUT = 10.0
log = logging.getLogger("overcast.network")
Listener = tuple[str, str, int]  # port ID (the instance), device, its ifindex


class MetadataRelays:
    def __init__(self, endpoint: tuple[str, int], key_file: Path) -> None:
        self.endpoint, self.key_file = endpoint, key_file
        self._listening: dict[str, dict[Listener, socket.socket]] = {}  # netns -> listeners
        self._lock = threading.Lock()

    def converge(self, netns: str, ports: dict[str, str]) -> None:
        """Listen for exactly these ports (ID -> device) of the namespace. A device made
        again (a VM stopped and started) has a new ifindex: its listener is made again."""
        links = commands.ip_json(netns, "link", "show")
        index = {link["ifname"]: link["ifindex"] for link in links}
        wanted = {(pid, dev, index[dev]) for pid, dev in ports.items() if dev in index}
        with self._lock:
            current = self._listening.setdefault(netns, {})
            for gone in set(current) - wanted:
                _close(current.pop(gone))
            for listener in sorted(wanted - set(current)):
                sock = _in_namespace(netns, functools.partial(_listen, listener[1]))
                current[listener] = sock
                threading.Thread(target=self._accept, args=(sock, listener[0]), daemon=True,
                                 name=f"metadata-{listener[1]}").start()

    def close(self, netns: str) -> None:
        with self._lock:
            for sock in self._listening.pop(netns, {}).values():
                _close(sock)

    def close_all(self) -> None:
        for netns in list(self._listening):
            self.close(netns)

    def _accept(self, listener: socket.socket, instance_id: str) -> None:
        while True:
            try:
                guest, _ = listener.accept()
            except OSError:  # closed: the port is gone
                return
            threading.Thread(target=self._relay, args=(guest, instance_id), daemon=True,
                             name=f"metadata-{instance_id}").start()

    def _relay(self, guest: socket.socket, instance_id: str) -> None:
        try:
            key = bytes.fromhex(self.key_file.read_text().strip())
            with guest, socket.create_connection(self.endpoint, CONNECT_TIMEOUT) as server:
                answer(server, instance_id, key)
                server.settimeout(None)
                _pump(guest, server)
        except (OSError, ValueError) as exc:
            log.warning("metadata relay for %s: %s", instance_id, exc)


def _listen(device: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
        sock.bind((METADATA_IP, METADATA_PORT))
        sock.listen(16)
    except OSError:
        sock.close()
        raise
    return sock


def _in_namespace(netns: str, make: Callable[[], socket.socket]) -> socket.socket:
    """make() run by a thread inside the named namespace (a socket made there stays there)."""
    found: list[socket.socket | BaseException] = []

    def enter_and_make() -> None:
        try:
            fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
            try:
                if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns {netns}")
            finally:
                os.close(fd)
            found.append(make())
        except BaseException as exc:  # handed to the caller
            found.append(exc)

    thread = threading.Thread(target=enter_and_make, name=f"netns-{netns}")
    thread.start()
    thread.join()
    if not found or isinstance(found[0], BaseException):
        raise NetworkError(f"metadata listener in {netns}: {found[0] if found else 'no result'}")
    return found[0]


def _pump(guest: socket.socket, server: socket.socket) -> None:
    """Copy both ways until the server is done (as mdrelay.pump, socket to socket)."""
    sel = selectors.DefaultSelector()
    sel.register(guest, selectors.EVENT_READ, server)
    sel.register(server, selectors.EVENT_READ, guest)
    while True:
        for key, _ in sel.select():
            data = key.fileobj.recv(CHUNK)  # type: ignore[union-attr]
            if data:
                key.data.sendall(data)
            elif key.fileobj is server:
                return
            else:
                sel.unregister(guest)
                # the server may have answered and closed already: its answer is still
                # buffered here to be read, so a refused half-close is no reason to stop
                with contextlib.suppress(OSError):
                    server.shutdown(socket.SHUT_WR)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
