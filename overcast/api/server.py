"""Serving the HTTP app: a threaded WSGI server that stops cleanly."""

from __future__ import annotations

import logging
import threading

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from overcast.api.app import App


class QuietHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logging.getLogger("overcast.http").debug("%s %s %s", self.command, self.path, code)


class HttpServer:
    def __init__(self, app: App, host: str, port: int) -> None:
        self.server: BaseWSGIServer = make_server(host, port, app, threaded=True,
                                                  request_handler=QuietHandler)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server.server_port

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.serve_forever, name="http",
                                        kwargs={"poll_interval": 0.2}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
