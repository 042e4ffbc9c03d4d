"""One log line and the metrics of every API request, around the faces' WSGI apps; and the
EC2 app with its action and caller noted (a subclass: the face itself stays as it is)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.wrappers import Request, Response

from overcast import metrics
from overcast.api.ec2 import sts
from overcast.api.ec2.app import Ec2App
from overcast.api.ec2.dispatch import ACTIONS
from overcast.api.requestnote import KEY, RequestNote, note_action, note_caller, note_error
from overcast.identity.context import Context
from overcast.logs import event

log = logging.getLogger("overcast.request")
Wsgi = Callable[[dict[str, Any], Any], Iterable[bytes]]
ERROR_CODE = re.compile(rb"<Code>([^<]{1,128})</Code>")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def ec2_action(name: str | None) -> str:
    """An EC2 Action as a label: unknown names share one (a client may send anything)."""
    if not name:
        return "none"
    return name if name in ACTIONS or name in sts.ACTIONS else "unknown"


class NotedEc2App(Ec2App):
    """The EC2 face, noting the Action once the form is read and the caller once the
    signature is checked."""

    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        if response.status_code >= 400:  # an error body is small: its code for the log
            found = ERROR_CODE.search(response.get_data())
            note_error(request.environ, found.group(1).decode() if found else "")
        return response

    @staticmethod
    def _params(request: Request, body: bytes) -> dict[str, str]:
        params = Ec2App._params(request, body)
        note_action(request.environ, ec2_action(params.get("Action")))
        return params

    def _authenticate(self, request: Request, *args: Any, **kwargs: Any) -> Context:
        ctx = super()._authenticate(request, *args, **kwargs)
        note_caller(request.environ, ctx)
        return ctx


class _Children:
    """prometheus_client children by label values, looked up once each: `labels()` costs
    more than the increment itself."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, str], Any] = {}
        self.latencies: dict[tuple[str, str], Any] = {}

    def record(self, face: str, action: str, status: str, seconds: float) -> None:
        count = self.counts.get((face, action, status))
        if count is None:
            count = self.counts[(face, action, status)] = metrics.REQUESTS.labels(
                face, action, status)
        latency = self.latencies.get((face, action))
        if latency is None:
            latency = self.latencies[(face, action)] = metrics.LATENCY.labels(face, action)
        count.inc()
        latency.observe(seconds)


_CHILDREN = _Children()


def _default_action(face: str, environ: dict[str, Any]) -> str:
    """The label of a request no route took (a 404, a 401 before routing...)."""
    method = environ.get("REQUEST_METHOD", "")
    method = method if method in METHODS else "OTHER"
    if face == "ec2":
        return ec2_action(None)
    return f"{method} /openapi.json" if face == "openapi" else f"{method} unmatched"


def observed(face: str, app: Wsgi, environ: dict[str, Any], start_response: Any) \
        -> Iterable[bytes]:
    """Call `app`; then log one line and count the request. The time is until the response
    starts (a streamed image download's body is not in it)."""
    note = environ[KEY] = RequestNote()
    status = ["500"]

    def start(line: str, headers: Any, exc_info: Any = None) -> Any:
        status[0] = line[:3]
        return start_response(line, headers, exc_info) if exc_info else \
            start_response(line, headers)

    started = time.perf_counter()
    try:
        return app(environ, start)
    finally:
        seconds = time.perf_counter() - started
        action = note.action or _default_action(face, environ)
        _CHILDREN.record(face, action, status[0], seconds)
        _log(face, action, status[0], seconds, note)


def _log(face: str, action: str, status: str, seconds: float, note: RequestNote) -> None:
    level = logging.ERROR if status >= "500" else logging.INFO
    event(log, level, f"{face} {action} {status}", face=face, action=action,
          status=int(status), project=note.project or None, account=note.account or None,
          user=note.user or None, duration_ms=round(seconds * 1000, 2),
          request_id=note.request_id or None, error=note.error or None)
