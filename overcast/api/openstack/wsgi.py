"""What the OpenStack faces share: routing, token checks, roles, JSON bodies and faults."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from overcast.api.requestnote import new_request_id, note_action, note_caller
from overcast.cloud.service import Cloud
from overcast.errors import CloudError
from overcast.identity.context import Context
from overcast.identity.tokens import Scope

log = logging.getLogger("overcast.openstack")
MAX_JSON = 1024 * 1024
MAX_NESTING = 64  # levels of arrays and objects a body may have
_TOO_DEEP = f"Malformed request body: nested too deeply (more than {MAX_NESTING} levels)."
_UNSET: Any = object()
REQUEST_ID_KEY = "overcast.openstack_request_id"  # the X-OpenStack-Request-ID answered
STATUS_OF_KIND = {"invalid": 400, "not_found": 404, "conflict": 409, "quota": 403,
                  "capacity": 409, "forbidden": 403, "auth": 401}


class Need(Enum):
    """Who may call a route: nobody in particular, any valid token, or a role."""

    NOTHING = "nothing"
    TOKEN = "token"
    READER = "reader"
    MEMBER = "member"
    ADMIN = "admin"  # the admin role on the admin project


class Fault(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def bad_request(message: str) -> Fault:
    return Fault(400, message)


def not_found(message: str) -> Fault:
    return Fault(404, message)


@dataclass
class Req:
    """One API call: the request, its URL arguments and who makes it."""

    cloud: Cloud
    request: Request
    args: dict[str, Any]
    scope: Scope | None = None
    headers: dict[str, str] = field(default_factory=dict)  # added to the response
    microversion: tuple[int, int] = (2, 1)  # the compute face's negotiated version
    _json: Any = field(default=_UNSET, repr=False)

    @property
    def ctx(self) -> Context:
        assert self.scope is not None
        return self.scope.context()

    @property
    def host_url(self) -> str:
        """scheme://host[:port] as the client addressed us."""
        return self.request.host_url.rstrip("/")

    @property
    def query(self) -> Any:
        return self.request.args

    def json(self) -> Any:
        """The body as JSON, parsed once; a 400 or 413 fault if it is not JSON, too large or
        nested too deeply."""
        if self._json is _UNSET:
            if (self.request.content_length or 0) > MAX_JSON:
                raise Fault(413, "Request body too large.")
            raw = self.request.get_data(cache=True)
            if len(raw) > MAX_JSON:
                raise Fault(413, "Request body too large.")
            self._json = parse_json(raw)
        return self._json

    def body(self) -> dict[str, Any]:
        """The JSON object in the body; a 400 or 413 fault if there is none."""
        found = self.json()
        if not isinstance(found, dict):
            raise bad_request("The request body must be a JSON object.")
        return found

    def sends_json(self) -> bool:
        return self.request.method in ("POST", "PUT", "PATCH") and \
            "json" in (self.request.mimetype or "").lower()


def parse_json(raw: bytes) -> Any:
    try:
        found = json.loads(raw or b"null")
    except RecursionError as exc:
        raise bad_request(_TOO_DEEP) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request("Malformed request body: not valid JSON.") from exc
    if _deeper_than(found, MAX_NESTING):
        raise bad_request(_TOO_DEEP)
    return found


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels (walked without recursion)."""
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, dict | list))
    return False


Handler = Callable[[Req], Response]


@dataclass(frozen=True)
class Route:
    path: str
    methods: tuple[str, ...]
    need: Need
    handler: Handler


class Router:
    """The routes of one face, declared with a decorator."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def route(self, path: str, methods: str | tuple[str, ...] = "GET",
              need: Need = Need.READER) -> Callable[[Handler], Handler]:
        verbs = (methods,) if isinstance(methods, str) else methods

        def register(handler: Handler) -> Handler:
            self.routes.append(Route(path, verbs, need, handler))
            return handler
        return register


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) \
        -> Response:
    return Response(json.dumps(body), status=status, headers=headers,
                    content_type="application/json")


def no_content(status: int = 204) -> Response:
    return Response(b"", status=status)


def fault_status(exc: CloudError) -> int:
    if exc.code in ("RequestEntityTooLarge", "ResourceLimitExceeded"):
        return 413
    return STATUS_OF_KIND.get(exc.kind, 400)


class Face:
    """A WSGI app for one OpenStack service. Subclasses give the routes and the fault body."""

    name = "openstack"

    def __init__(self, cloud: Cloud, routers: Iterable[Router]) -> None:
        self.cloud = cloud
        self.routes: dict[str, Route] = {}
        rules = []
        for router in routers:
            for index, route in enumerate(router.routes):
                endpoint = f"{route.handler.__module__}.{route.handler.__name__}.{index}"
                self.routes[endpoint] = route
                rules.append(Rule(route.path, endpoint=endpoint, methods=list(route.methods),
                                  strict_slashes=False, merge_slashes=False))
        self.url_map = Map(rules)

    def fault(self, status: int, message: str) -> Response:
        raise NotImplementedError

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        request_id = new_request_id(request.environ, "req-")
        request.environ[REQUEST_ID_KEY] = request_id
        try:
            response = self._dispatch(request)
        except Fault as exc:
            response = self.fault(exc.status, exc.message)
        except CloudError as exc:
            response = self.fault(fault_status(exc), exc.message)
        except MethodNotAllowed as exc:
            if request.path.endswith("/"):  # a collection's URL where an item's was meant
                response = self.fault(404, "The resource could not be found.")
            else:
                response = self.fault(405, "The method is not allowed for the requested URL.")
                response.headers["Allow"] = ", ".join(exc.valid_methods or [])
        except NotFound:
            response = self.fault(404, "The resource could not be found.")
        except HTTPException as exc:
            response = self.fault(exc.code or 400, exc.description or "Bad request.")
        except Exception:
            log.exception("%s request %s failed", self.name, request_id)
            response = self.fault(500, "An unexpected error prevented the server from "
                                  "fulfilling your request.")
        response.headers["X-OpenStack-Request-ID"] = request_id
        return response

    def _dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        endpoint, args = adapter.match()
        route = self.routes[str(endpoint)]
        note_action(request.environ, f"{request.method} {route.path}")
        req = Req(self.cloud, request, dict(args))
        if req.sends_json():  # a body nobody may send is refused before any token check
            req.json()
        self.authorize(req, route.need)
        if req.scope is not None:
            note_caller(request.environ, req.scope.context())
        self.before(req)
        response = route.handler(req)
        response.headers.extend(req.headers)
        return response

    def before(self, req: Req) -> None:
        """A hook for per-face request checks (microversions)."""

    def authorize(self, req: Req, need: Need) -> None:
        if need is Need.NOTHING:
            return
        scope = self.cloud.identity.tokens.validate(req.request.headers.get("X-Auth-Token"))
        if scope is None:
            raise Fault(401, "The request you have made requires authentication.")
        req.scope = scope
        if need is Need.TOKEN:
            return
        allowed = scope.is_cloud_admin if need is Need.ADMIN else scope.has(need.value)
        if not allowed:
            raise Fault(403, f"Policy does not allow this request: it needs the "
                        f"{need.value} role.")


def int_arg(value: str | None, name: str, minimum: int = 0) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError as exc:
        raise bad_request(f"Invalid value '{value[:64]}' for {name}: not an integer.") from exc
    if number < minimum:
        raise bad_request(f"Invalid value {number} for {name}: must be at least {minimum}.")
    return number


def iso(value: Any) -> str | None:
    """A datetime as OpenStack writes it: 2026-01-01T00:00:00Z."""
    if value is None:
        return None
    from overcast.clock import as_utc

    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")
