"""The EC2 Query API as a WSGI app: read the form, verify SigV4, dispatch, serialize."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from threading import local
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.wrappers import Request, Response

# Importing the handler modules fills the action table.
from overcast.api.ec2 import (  # noqa: F401
    addresses,
    gateways,
    instance_attributes,
    instances,
    keypairs,
    launch_templates,
    meta,
    nat_gateways,
    network_interfaces,
    protocol,
    route_tables,
    security_groups,
    sigv2,
    sigv4,
    sts,
    volume_snapshots,
    volumes,
    vpcs,
)
from overcast.api.ec2.dispatch import ACTIONS, Call, DryRunOperation
from overcast.api.requestnote import new_request_id
from overcast.cloud.service import Cloud
from overcast.errors import CloudError, DryRunOk
from overcast.identity import policy
from overcast.identity.context import Context

log = logging.getLogger("overcast.ec2")
MAX_BODY = 1024 * 1024
XML = "text/xml;charset=UTF-8"


def _xml(body: bytes, status: int = 200) -> Response:
    return Response(body, status=status, content_type=XML)


def _error(code: str, message: str, request_id: str, status: int = 400) -> Response:
    return _xml(protocol.serialize_error(code, message, request_id), status)


class Ec2App:
    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud
        self._found = local()  # the key _lookup found for this thread's request

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return self.handle(Request(environ))(environ, start_response)

    def _lookup(self, access_key_id: str) -> str | None:
        """The secret of an active key, for every signature version to check a request with.
        What the key stands for is kept for this request (this thread) only."""
        grant = self.cloud.identity.lookup(access_key_id)
        self._found.key = (access_key_id, grant)
        return grant.secret if grant else None

    def _authenticate(self, request: Request, body: bytes,
                      service: str = sigv4.SERVICE) -> Context:
        pairs = self._pairs(request, body)
        if "Authorization" not in request.headers and sigv2.is_sigv2(pairs):
            path = request.environ.get("RAW_URI", request.path).split("?", 1)[0]
            access_key_id = sigv2.verify(request.method, request.headers.get("Host", ""),
                                         path, pairs, self._lookup)
            return self._context(access_key_id)
        signed = sigv4.SignedRequest(
            method=request.method, host=request.headers.get("Host", ""),
            path=request.environ.get("RAW_URI", request.path).split("?", 1)[0],
            query_string=request.query_string.decode("latin-1"),
            headers=dict(request.headers), body=body)
        access_key_id, _region = sigv4.verify(signed, self._lookup, service=service,
                                              region=self.cloud.settings.region)
        return self._context(access_key_id)

    def _context(self, access_key_id: str) -> Context:
        """The context (user, project, current roles) of the key a signature was verified
        with, as _lookup found it during this request."""
        found = getattr(self._found, "key", None)
        self._found.key = None
        grant = found[1] if found and found[0] == access_key_id \
            else self.cloud.identity.lookup(access_key_id)
        if grant is None:
            raise sigv4.AuthError("AuthFailure", "AWS was not able to validate the provided "
                                  "access credentials")
        return grant.context

    @staticmethod
    def _pairs(request: Request, body: bytes) -> list[tuple[str, str]]:
        pairs = parse_qsl(request.query_string.decode("utf-8", "replace"),
                          keep_blank_values=True)
        if request.method == "POST" and body:
            pairs += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        return pairs

    @classmethod
    def _params(cls, request: Request, body: bytes) -> dict[str, str]:
        return dict(cls._pairs(request, body))

    def handle(self, request: Request) -> Response:
        request_id = new_request_id(request.environ)
        try:
            if (request.content_length or 0) > MAX_BODY:
                raise protocol.Ec2Error("RequestEntityTooLarge", "The request is too large.", 413)
            body = request.get_data(cache=False) if request.method == "POST" else b""
            params = self._params(request, body)
            if params.get("Action") in sts.ACTIONS:
                return self._sts(request, body, request_id)
            ctx = self._authenticate(request, body)
            result, op = self._dispatch(ctx, params, request.headers.get("Host", ""))
            return _xml(protocol.serialize_response(op, result, request_id))
        except sigv4.AuthError as exc:
            return _error(exc.code, exc.message, request_id, exc.status)
        except protocol.Ec2Error as exc:
            return _error(exc.code, exc.message, request_id, exc.status)
        except (DryRunOperation, DryRunOk):
            return _error("DryRunOperation",
                          "Request would have succeeded, but DryRun flag is set.",
                          request_id, 412)
        except CloudError as exc:
            return _error(exc.code, exc.message, request_id)
        except Exception:
            log.exception("request %s failed", request_id)
            return _error("InternalError", "An internal error has occurred.", request_id, 500)

    def _sts(self, request: Request, body: bytes, request_id: str) -> Response:
        """GetCallerIdentity, for clients that send STS calls to this endpoint too."""
        try:
            ctx = self._authenticate(request, body, sts.SERVICE)
        except sigv4.AuthError as exc:
            return _xml(sts.error(exc.code, exc.message, request_id), exc.status)
        if not policy.ec2_allows(ctx, "GetCallerIdentity"):
            return _xml(sts.error("AccessDenied", "The caller holds no role on the key's "
                                  "project.", request_id), 403)
        return _xml(sts.caller_identity(self.cloud, ctx, request_id))

    def _dispatch(self, ctx: Context, params: dict[str, str], host: str) -> tuple[dict, Any]:
        name = params.get("Action")
        if not name:
            raise protocol.Ec2Error("MissingAction", "The request must contain the parameter "
                                    "Action")
        op = protocol.operation_model(name)
        handler = ACTIONS.get(name)
        if handler is None:
            raise protocol.Ec2Error("InvalidAction", f"The action {name} is not valid for this "
                                    "web service.")
        if not policy.ec2_allows(ctx, name):
            raise protocol.Ec2Error("UnauthorizedOperation", "You are not authorized to "
                                    f"perform this operation: {name} needs the "
                                    f"{policy.ec2_role_needed(name)} role.", 403)
        call = Call(self.cloud, ctx, protocol.parse_params(op, params), host)
        return handler(call), op
