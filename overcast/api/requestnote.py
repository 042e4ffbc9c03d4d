"""What a face learns about a request that its log line and metrics need: the action, who
called and the request ID the client is given. The request log (overcast/api/requestlog.py)
puts a note in the WSGI environ; faces fill it in. A face called without one (tests that
mount a face alone) just mints its request ID."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from overcast.identity.context import Context

KEY = "overcast.request_note"


@dataclass
class RequestNote:
    action: str = ""
    project: str = ""
    account: str = ""
    user: str = ""
    request_id: str = ""
    error: str = ""  # the error code a client was answered with


def new_request_id(environ: dict[str, Any], prefix: str = "") -> str:
    """A fresh request ID for the response, remembered for the log line."""
    request_id = f"{prefix}{uuid.uuid4()}"
    found = environ.get(KEY)
    if found is not None:
        found.request_id = request_id
    return request_id


def note_action(environ: dict[str, Any], action: str) -> None:
    """The action's label: an EC2 Action, or an HTTP method and route template (never an
    ID: one label per kind of call)."""
    found = environ.get(KEY)
    if found is not None:
        found.action = action


def note_caller(environ: dict[str, Any], ctx: Context) -> None:
    found = environ.get(KEY)
    if found is not None:
        found.project, found.account, found.user = ctx.project_id, ctx.account_id, ctx.user_id


def note_error(environ: dict[str, Any], code: str) -> None:
    found = environ.get(KEY)
    if found is not None:
        found.error = code
