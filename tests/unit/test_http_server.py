"""The HTTP server keeps connections alive, and stops at once even while a client holds one."""

from __future__ import annotations

import http.client
import time

from overcast.api.server import HttpServer


def app(environ, start_response):
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]


def test_keep_alive_and_a_prompt_stop() -> None:
    server = HttpServer(app, "127.0.0.1", 0)  # type: ignore[arg-type]
    server.start()
    client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    for _ in range(3):  # one connection for all three
        client.request("GET", "/")
        response = client.getresponse()
        assert response.read() == b"ok" and response.getheader("Connection") != "close"
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2
    assert server._thread is not None and not server._thread.is_alive()
    client.close()
