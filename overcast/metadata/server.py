"""The metadata server: what a guest sees at http://169.254.169.254/.

Guests never reach this socket directly. Each guest connection arrives through its own channel
(the QEMU driver's per-instance guestfwd relay). The server opens each connection with a fresh
challenge, and the relay answers with one line naming the instance, signed with the cloud's
relay key (relayauth.py), before any byte from the guest. The instance is taken from that
line only, so a guest can read only its own metadata, and a process on the host that cannot
read the key file can read none. Anything else gets no byte back. The socket listens on
loopback unless `overcast up` is told otherwise.

EC2 paths (`/latest/meta-data/...`, `/latest/user-data`, `/latest/dynamic/...`) with IMDSv2
(PUT `/latest/api/token`; `HttpTokens=required` refuses requests without a valid token) and
the OpenStack paths (`/openstack/latest/meta_data.json`, `user_data`, `network_data.json`).
"""

from __future__ import annotations

import logging
import secrets
import socketserver
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

from overcast.metadata import documents as docs
from overcast.metadata import relayauth
from overcast.metadata.facts import InstanceFacts

log = logging.getLogger("overcast.metadata")
# How long a relay may take to answer the challenge.
AUTH_TIMEOUT = 10.0
TOKEN_PATH = "/latest/api/token"
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
MAX_TTL = 21600

FactsSource = Callable[[str], "InstanceFacts | None"]


class Tokens:
    """IMDSv2 session tokens, each bound to the instance that asked for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}

    def issue(self, instance_id: str, ttl: int) -> str:
        token = secrets.token_urlsafe(40)
        now = time.monotonic()
        with self._lock:
            self._tokens = {t: v for t, v in self._tokens.items() if v[1] > now}
            self._tokens[token] = (instance_id, now + ttl)
        return token

    def valid(self, instance_id: str, token: str) -> bool:
        with self._lock:
            owner = self._tokens.get(token)
        return owner is not None and owner[0] == instance_id and owner[1] > time.monotonic()


class Response:
    def __init__(self, status: int, body: str | bytes = b"",
                 content_type: str = "text/plain") -> None:
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.content_type = content_type


NOT_FOUND = Response(404, "Not Found")


def _ec2(facts: InstanceFacts, parts: list[str]) -> Response:
    if not parts or parts[0] not in docs.EC2_VERSIONS:
        return NOT_FOUND
    node = docs.lookup(docs.ec2_version_tree(facts), parts[1:])
    if node is None:
        return NOT_FOUND
    if isinstance(node, dict):
        return Response(200, docs.listing(node))
    is_json = parts[1:] == ["dynamic", "instance-identity", "document"]
    return Response(200, node, "application/json" if is_json else "text/plain")


def _openstack(facts: InstanceFacts, parts: list[str]) -> Response:
    if not parts:
        return Response(200, "\n".join(docs.OPENSTACK_VERSIONS))
    if parts[0] not in docs.OPENSTACK_VERSIONS:
        return NOT_FOUND
    files = docs.openstack_files(facts)
    if len(parts) == 1:
        return Response(200, "\n".join(files))
    if len(parts) != 2 or parts[1] not in files:
        return NOT_FOUND
    kind = "application/json" if parts[1].endswith(".json") else "application/octet-stream"
    return Response(200, files[parts[1]], kind)


def answer_get(facts: InstanceFacts, path: str) -> Response:
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    if not parts:
        return Response(200, "\n".join(docs.EC2_VERSIONS + ("openstack",)))
    if parts[0] == "openstack":
        return _openstack(facts, parts[1:])
    return _ec2(facts, parts)


class MetadataHandler(BaseHTTPRequestHandler):
    server: MetadataServer
    server_version = "EC2ws"
    sys_version = ""
    protocol_version = "HTTP/1.0"
    instance_id = ""

    def handle(self) -> None:
        instance_id = self._authenticate()
        if instance_id is None:
            return  # not from a relay holding the key: say nothing more
        self.instance_id = instance_id
        super().handle()

    def _authenticate(self) -> str | None:
        """The instance this connection's relay proves it speaks for, or None."""
        challenge = relayauth.new_challenge()
        self.connection.settimeout(AUTH_TIMEOUT)
        try:
            self.wfile.write(relayauth.challenge_line(challenge))
            line = self.rfile.readline(relayauth.MAX_LINE)
        except OSError:
            return None
        instance_id = relayauth.verified_instance(self.server.relay_key, challenge, line)
        if instance_id is None:
            log.warning("metadata connection from %s refused: no valid relay signature",
                        self.client_address[0])
            return None
        self.connection.settimeout(None)
        return instance_id

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.instance_id, format % args)

    def _send(self, response: Response, head_only: bool = False) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if not head_only:
            self.wfile.write(response.body)

    def _facts(self) -> InstanceFacts | None:
        return self.server.facts_of(self.instance_id)

    def _denied(self, facts: InstanceFacts) -> Response | None:
        """Why IMDS refuses this request, if it does."""
        if facts.options.http_endpoint != "enabled":
            return Response(403, "Forbidden")
        token = self.headers.get(TOKEN_HEADER)
        if token is not None and not self.server.tokens.valid(facts.instance_id, token):
            return Response(401, "Unauthorized")
        if token is None and facts.options.http_tokens == "required":
            return Response(401, "Unauthorized")
        return None

    def do_GET(self, head_only: bool = False) -> None:
        facts = self._facts()
        if facts is None:
            return self._send(NOT_FOUND, head_only)
        self._send(self._denied(facts) or answer_get(facts, self.path), head_only)

    def do_HEAD(self) -> None:
        self.do_GET(head_only=True)

    def do_PUT(self) -> None:
        facts = self._facts()
        if facts is None or self.path.split("?", 1)[0] != TOKEN_PATH:
            return self._send(NOT_FOUND if facts is None else Response(405, "Not Allowed"))
        if facts.options.http_endpoint != "enabled" or "X-Forwarded-For" in self.headers:
            return self._send(Response(403, "Forbidden"))
        ttl = self.headers.get(TTL_HEADER, "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= MAX_TTL:
            return self._send(Response(400, "Bad Request"))
        token = self.server.tokens.issue(facts.instance_id, int(ttl))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header(TTL_HEADER, ttl)
        self.send_header("Content-Length", str(len(token)))
        self.end_headers()
        self.wfile.write(token.encode())

    def do_POST(self) -> None:
        self._send(Response(405, "Not Allowed"))


class MetadataServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, facts_of: FactsSource, host: str, port: int, *,
                 relay_key: bytes) -> None:
        super().__init__((host, port), MetadataHandler)
        self.facts_of = facts_of
        self.relay_key = relay_key
        self.tokens = Tokens()
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> tuple[str, int]:
        host, port = self.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="metadata", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
