"""Run inside a guest namespace: TCP echo servers, and a client that says whether it got an
echo back. Used by the data-plane tests in place of guest programs.

    python probe.py serve PORT [PORT ...]             prints "ready", serves until killed
    python probe.py connect HOST PORT [SOURCE] [TIMEOUT]   exit 0 on an echo, 1 otherwise
    python probe.py peer PORT                 prints "ready", answers each caller's address
    python probe.py ask HOST PORT [TIMEOUT]   prints what the server answered (exit 1: nothing)
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import sys


def serve(ports: list[int]) -> None:
    selector = selectors.DefaultSelector()
    for port in ports:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("0.0.0.0", port))
        listener.listen(16)
        selector.register(listener, selectors.EVENT_READ)
    print("ready", flush=True)
    while True:
        for key, _ in selector.select():
            conn, _ = key.fileobj.accept()  # type: ignore[union-attr]
            with conn:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    conn.sendall(conn.recv(64))


def serve_peer(port: int) -> None:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", port))
    listener.listen(16)
    print("ready", flush=True)
    while True:
        conn, (peer, _) = listener.accept()
        with conn, contextlib.suppress(OSError):
            conn.sendall(peer.encode())


def ask(host: str, port: int, timeout: float) -> int:
    try:
        with socket.create_connection((host, port), timeout) as sock:
            print(sock.recv(64).decode())
            return 0
    except OSError:
        return 1


def connect(host: str, port: int, source: str, timeout: float) -> int:
    try:
        with socket.socket() as sock:
            sock.settimeout(timeout)
            if source:
                sock.bind((source, 0))
            sock.connect((host, port))
            sock.sendall(b"hello")
            return 0 if sock.recv(64) == b"hello" else 1
    except OSError:
        return 1


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve([int(p) for p in sys.argv[2:]])
    elif sys.argv[1] == "peer":
        serve_peer(int(sys.argv[2]))
    elif sys.argv[1] == "ask":
        sys.exit(ask(sys.argv[2], int(sys.argv[3]), float((sys.argv[4:] or ["1.0"])[0])))
    else:
        args = sys.argv[2:] + [""] * (4 - len(sys.argv[2:]))
        sys.exit(connect(args[0], int(args[1]), args[2], float(args[3] or 1.0)))
