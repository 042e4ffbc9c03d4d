"""Metadata relay: QEMU starts one per guest connection to 169.254.169.254:80.

    python mdrelay.py INSTANCE HOST PORT

QEMU's user network (`guestfwd=tcp:169.254.169.254:80-cmd:...`) runs this command for each
TCP connection the guest opens, with the connection as stdin and stdout (and stderr). The relay
connects to the metadata server at HOST:PORT, sends one line naming the instance

    OVERCAST-INSTANCE <name>\\r\\n

and then copies bytes both ways. The guest cannot forge that line: its bytes only ever follow
it, and under the driver's restricted user network it cannot reach HOST:PORT any other way.

QEMU runs it in the instance directory: what goes wrong is appended to metadata-relay.log
there (stderr), never sent to the guest.

This file imports nothing from overcast so QEMU can run it as a plain script, quickly.
"""

from __future__ import annotations

import os
import selectors
import socket
import sys
import time

HEADER = "OVERCAST-INSTANCE {name}\r\n"
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


def relay(name: str, host: str, port: int) -> int:
    try:
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.settimeout(None)
            sock.sendall(HEADER.format(name=name).encode())
            pump(sock)
    except OSError as error:
        print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {name} -> {host}:{port}: {error!r}",
              file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    # stderr is the guest's connection too: errors and tracebacks go to the log instead.
    try:
        log = os.open(LOG_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError:
        log = os.open(os.devnull, os.O_WRONLY)
    os.dup2(log, 2)
    if len(argv) != 3 or not argv[2].isdigit():
        return 2
    return relay(argv[0], argv[1], int(argv[2]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
