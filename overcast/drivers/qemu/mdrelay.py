"""Metadata relay: QEMU starts one per guest connection to 169.254.169.254:80.

    python mdrelay.py INSTANCE HOST PORT KEY_FILE

QEMU's user network (`guestfwd=tcp:169.254.169.254:80-cmd:...`) runs this command for each
TCP connection the guest opens, with the connection as stdin and stdout (and stderr). The relay
connects to the metadata server at HOST:PORT, reads its challenge, answers with one line naming
the instance, signed with the relay key read from KEY_FILE (overcast/metadata/relayauth.py
describes the exchange),

    OVERCAST-INSTANCE <name> <hex HMAC-SHA256>\\r\\n

and then copies bytes both ways. The guest cannot forge that line: its bytes only ever follow
it, and under the driver's restricted user network it cannot reach HOST:PORT any other way.
Other processes on the host cannot either: they cannot read KEY_FILE (mode 0600), and the
key is never on a command line or in an environment.

QEMU runs it in the instance directory: what goes wrong is appended to metadata-relay.log
there (stderr), never sent to the guest.

This file imports nothing from overcast so QEMU can run it as a plain script, quickly.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import selectors
import socket
import sys
import time

CHALLENGE = b"OVERCAST-CHALLENGE "
HEADER = "OVERCAST-INSTANCE {name} {signature}\r\n"
MAX_LINE = 256
LOG_FILE = "metadata-relay.log"
CHUNK = 65536
GUEST_IN = 0
GUEST_OUT = 1


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def pump(sock: socket.socket) -> None:
    """Copy guest -> server and server -> guest until the server side is done."""
    sel = selectors.DefaultSelector()
    sel.register(GUEST_IN, selectors.EVENT_READ, "guest")
    sel.register(sock, selectors.EVENT_READ, "server")
    while True:
        for key, _ in sel.select():
            if key.data == "guest":
                data = os.read(GUEST_IN, CHUNK)
                if data:
                    sock.sendall(data)
                else:
                    sel.unregister(GUEST_IN)
                    sock.shutdown(socket.SHUT_WR)
            else:
                data = sock.recv(CHUNK)
                if not data:
                    return
                _write_all(GUEST_OUT, data)


def signature(key: bytes, challenge: str, name: str) -> str:
    """As overcast.metadata.relayauth.signature computes it."""
    message = f"overcast-metadata-relay\n{challenge}\n{name}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def read_line(sock: socket.socket) -> bytes:
    """One line, byte by byte: nothing after it may be taken from the socket."""
    line = b""
    while not line.endswith(b"\n") and len(line) < MAX_LINE:
        byte = sock.recv(1)
        if not byte:
            break
        line += byte
    return line


def answer(sock: socket.socket, name: str, key: bytes) -> None:
    line = read_line(sock)
    if not line.startswith(CHALLENGE) or not line.endswith(b"\r\n"):
        raise OSError(f"no challenge from the metadata server: {line[:80]!r}")
    challenge = line[len(CHALLENGE):-2].decode("ascii", "replace")
    sock.sendall(HEADER.format(name=name, signature=signature(key, challenge, name)).encode())


def relay(name: str, host: str, port: int, key_file: str) -> int:
    try:
        with open(key_file) as f:
            key = bytes.fromhex(f.read().strip())
        with socket.create_connection((host, port), timeout=10) as sock:
            answer(sock, name, key)
            sock.settimeout(None)
            pump(sock)
    except (OSError, ValueError) as error:
        print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {name} -> {host}:{port}: "
              f"{type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    # stderr is the guest's connection too: errors and tracebacks go to the log instead.
    try:
        log = os.open(LOG_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError:
        log = os.open(os.devnull, os.O_WRONLY)
    os.dup2(log, 2)
    if len(argv) != 4 or not argv[2].isdigit():
        return 2
    return relay(argv[0], argv[1], int(argv[2]), argv[3])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
