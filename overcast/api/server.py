"""Serving the HTTP app: waitress, a threaded WSGI server that keeps connections alive (so
clients do not pay a TCP handshake and the server a new thread per request), stopped cleanly.
"""

from __future__ import annotations

import logging
import threading

from waitress.server import create_server
from waitress.wasyncore import close_all

from overcast.api.app import App

WORKER_THREADS = 16


class HttpServer:
    def __init__(self, app: App, host: str, port: int) -> None:
        self.server = create_server(app, host=host, port=port, threads=WORKER_THREADS,
                                    ident="Overcast", clear_untrusted_proxy_headers=True)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server.effective_port)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="http", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            self.server.run()
        except OSError:  # the listening socket closed under the loop: we are stopping
            logging.getLogger("overcast.http").debug("server loop ended")

    def stop(self) -> None:
        """Stop listening, drop idle keep-alive connections (the loop runs while any is open)
        and let the workers finish what they hold."""
        self.server.task_dispatcher.shutdown()
        close_all(self.server._map)
        if self._thread is not None:
            self._thread.join(timeout=5)
