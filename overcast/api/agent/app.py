"""The agent API's HTTP side: credentials, JSON in and out, errors as JSON with a code."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from typing import Any

from werkzeug.wrappers import Request, Response

from overcast.agent.store import LocalStore
from overcast.agent.wire import decode, encode
from overcast.api.agent.calls import Caller, Calls, Refused
from overcast.api.requestnote import note_action, note_error
from overcast.cloud.compute import HostCredentials, JoinRefused
from overcast.cloud.service import Cloud
from overcast.errors import CloudError

log = logging.getLogger("overcast.agent_api")
PREFIX = "/agent/v1/"
MAX_WAIT = 30.0  # seconds a long-poll may be held
# long-polls held at once: each holds one of the server's threads (overcast.api.server); past
# this, an agent is answered at once and told to ask again after BUSY_WAIT seconds
MAX_HELD = 8
BUSY_WAIT = 1.0
STATUS = {"invalid": 400, "auth": 401, "forbidden": 403, "not_found": 404, "conflict": 409}


def _error(status: int, code: str, message: str) -> Response:
    return Response(json.dumps({"error": {"code": code, "message": message}}), status=status,
                    content_type="application/json")


def _answer(result: Any) -> Response:
    return Response(json.dumps({"result": encode(result)}), content_type="application/json")


class AgentApi:
    def __init__(self, cloud: Cloud, metadata_endpoint: tuple[str, int] | None = None) -> None:
        self.credentials = HostCredentials(cloud.db)
        self.changes = cloud.instances.changed
        self._held = threading.BoundedSemaphore(MAX_HELD)
        self.calls = Calls(LocalStore(cloud, metadata_endpoint), self.credentials)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        name = request.path.removeprefix(PREFIX)
        note_action(environ, name if self.calls.known(name) or name == "changes" else "unknown")
        try:
            response = self._respond(request)
        except ValueError as exc:  # WireError, JSON or UTF-8 that does not parse
            response = _error(400, "InvalidArgument", str(exc))
        except Refused as exc:
            response = _error(403, "Forbidden", str(exc))
        except CloudError as exc:
            response = _error(STATUS.get(exc.kind, 400), exc.code, exc.message)
        except Exception:
            log.exception("agent API %s failed", request.path)
            response = _error(500, "InternalError", "The controller failed; see its log.")
        if response.status_code >= 400:
            note_error(environ, json.loads(response.get_data())["error"]["code"])
        return response(environ, start_response)

    def _respond(self, request: Request) -> Response:
        name = request.path.removeprefix(PREFIX) if request.path.startswith(PREFIX) else ""
        if name == "changes":
            if request.method != "GET":
                return _error(405, "MethodNotAllowed", "GET /agent/v1/changes")
            self._caller(request)
            return self._wait(request)
        if not self.calls.known(name):
            return _error(404, "UnknownCall", f"no agent API call {request.path}")
        if request.method != "POST":
            return _error(405, "MethodNotAllowed", f"POST {request.path}")
        args = decode(dict[str, Any], json.loads(request.get_data() or b"{}"))
        if name == "join":
            return self._join(args)
        return _answer(self.calls.call(name, self._caller(request), args))

    def _caller(self, request: Request) -> Caller:
        scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
        host_name = (self.credentials.authenticate(credential.strip())
                     if scheme.lower() == "bearer" else None)
        if host_name is None:
            raise JoinRefused("AuthFailure", "A valid host credential is needed "
                              "(Authorization: Bearer <credential>).")
        return Caller(host_name, self.credentials.host_id(host_name))

    def _join(self, args: dict[str, Any]) -> Response:
        token, name = decode(str, args.get("token")), decode(str, args.get("name"))
        return _answer({"host_name": name, "credential": self.credentials.join(token, name)})

    def _wait(self, request: Request) -> Response:
        """Return when something changed for the agents since generation `after` (at once if
        it already has), or after `timeout` seconds; `wait`: how long the agent should pause
        before it asks again (0, or BUSY_WAIT when too many long-polls are held)."""
        try:
            after = int(request.args.get("after", "-1"))
            timeout = min(max(float(request.args.get("timeout", "10")), 0.0), MAX_WAIT)
        except ValueError:
            return _error(400, "InvalidArgument", "after: a whole number; timeout: seconds")
        if not self._held.acquire(blocking=False):
            return _answer({"generation": self.changes.wait_past(after, 0), "wait": BUSY_WAIT})
        try:
            return _answer({"generation": self.changes.wait_past(after, timeout), "wait": 0})
        finally:
            self._held.release()
