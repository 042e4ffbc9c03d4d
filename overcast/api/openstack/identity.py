"""Keystone v3: version discovery, tokens (password, token and application-credential
methods), the catalog. Projects, users, roles and credentials are in identity_admin.py."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from overcast.api.openstack import identity_admin, identity_ec2
from overcast.api.openstack.catalog import IDENTITY, IDENTITY_VERSION, link, service_catalog
from overcast.api.openstack.wsgi import (
    Face,
    Fault,
    Need,
    Req,
    Router,
    bad_request,
    json_response,
    no_content,
)
from overcast.clock import as_utc
from overcast.cloud.service import Cloud
from overcast.errors import AuthenticationFailed, CloudError
from overcast.identity.records import ProjectRecord, UserRecord
from overcast.identity.tokens import Scope, TokenRequest

router = Router()
V3 = f"{IDENTITY}/v3"
DOMAIN = {"id": "default", "name": "Default"}
TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
          405: "Method Not Allowed", 409: "Conflict", 413: "Request Entity Too Large",
          500: "Internal Server Error"}
UNAUTHORIZED = "The request you have made requires authentication."


def _stamp(value: Any) -> str:
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def _version(req: Req) -> dict[str, Any]:
    return {"id": IDENTITY_VERSION, "status": "stable", "updated": "2020-04-07T00:00:00Z",
            "links": [link(f"{req.host_url}{V3}/")],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.identity-v3+json"}]}


@router.route(IDENTITY, need=Need.NOTHING)
def versions(req: Req) -> Response:
    return json_response({"versions": {"values": [_version(req)]}}, 300,
                         {"Location": f"{req.host_url}{V3}/"})


@router.route(V3, need=Need.NOTHING)
def version(req: Req) -> Response:
    return json_response({"version": _version(req)})


# authentication ---------------------------------------------------------------------------

def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request(f"Invalid input for field '{what}': expected an object.")
    return value


def _domain_ok(entity: dict[str, Any]) -> None:
    domain = entity.get("domain")
    if domain is None:
        return
    domain = _dict(domain, "domain")
    if domain.get("id") not in (None, "default") or \
            domain.get("name") not in (None, "Default", "default"):
        raise AuthenticationFailed("Unauthorized", UNAUTHORIZED)


def _find_user(req: Req, spec: dict[str, Any]) -> UserRecord:
    key = spec.get("id") or spec.get("name")
    if not isinstance(key, str) or not key:
        raise bad_request("Expecting a user id or name.")
    _domain_ok(spec)
    try:
        return req.cloud.identity.roles.user(key)
    except CloudError as exc:
        raise AuthenticationFailed("Unauthorized", UNAUTHORIZED) from exc


def _requested_project(req: Req, auth: dict[str, Any], user: UserRecord) -> ProjectRecord:
    scope = auth.get("scope")
    if scope is None or scope == "unscoped":
        return req.cloud.identity.roles.project(user.project_id)
    scope = _dict(scope, "scope")
    if "project" not in scope:
        raise Fault(401, "Only project scope is supported.")
    spec = _dict(scope["project"], "scope.project")
    key = spec.get("id") or spec.get("name")
    if not isinstance(key, str) or not key:
        raise bad_request("Expecting a project id or name in the scope.")
    _domain_ok(spec)
    try:
        return req.cloud.identity.roles.project(key)
    except CloudError as exc:
        raise AuthenticationFailed("Unauthorized", UNAUTHORIZED) from exc


def _roles_on(req: Req, user: UserRecord, project: ProjectRecord) -> list[str]:
    roles = req.cloud.identity.roles.effective(user, project.id)
    if not roles:
        raise Fault(401, f"User {user.id} has no access to project {project.id}.")
    return roles


def _password_auth(req: Req, auth: dict[str, Any], identity: dict[str, Any]) -> TokenRequest:
    spec = _dict(_dict(identity.get("password"), "password").get("user"), "password.user")
    user = _find_user(req, spec)
    password = spec.get("password")
    if not isinstance(password, str) or not req.cloud.identity.roles.check_password(
            user, password):
        raise Fault(401, UNAUTHORIZED)
    project = _requested_project(req, auth, user)
    return TokenRequest(user, project, _roles_on(req, user, project), ["password"])


def _token_auth(req: Req, auth: dict[str, Any], identity: dict[str, Any]) -> TokenRequest:
    spec = _dict(identity.get("token"), "token")
    scope = req.cloud.identity.tokens.validate(spec.get("id"))
    if scope is None or scope.token.app_credential_id:
        raise Fault(401, UNAUTHORIZED)
    project = _requested_project(req, auth, scope.user)
    return TokenRequest(scope.user, project, _roles_on(req, scope.user, project),
                        ["token", *[m for m in scope.methods if m != "token"]],
                        expires_at=scope.token.expires_at)


def _app_credential_auth(req: Req, identity: dict[str, Any]) -> TokenRequest:
    spec = _dict(identity.get("application_credential"), "application_credential")
    secret = spec.get("secret")
    if not isinstance(secret, str):
        raise bad_request("Expecting an application credential secret.")
    user_id = None
    if spec.get("user") is not None:
        user_id = _find_user(req, _dict(spec["user"], "user")).id
    cred = req.cloud.identity.app_credentials.authenticate(spec.get("id"), secret,
                                                           spec.get("name"), user_id)
    roles_svc = req.cloud.identity.roles
    user, project = roles_svc.user(cred.user_id), roles_svc.project(cred.project_id)
    have = set(roles_svc.effective(user, project.id))
    roles = [r for r in cred.roles.split(",") if r in have]
    if not roles:
        raise Fault(401, "The application credential's roles are no longer held.")
    return TokenRequest(user, project, roles, ["application_credential"], cred.id,
                        cred.expires_at)


def _token_request(req: Req) -> TokenRequest:
    auth = _dict(req.body().get("auth"), "auth")
    identity = _dict(auth.get("identity"), "identity")
    methods = identity.get("methods")
    if not isinstance(methods, list) or not methods:
        raise bad_request("Expecting authentication methods.")
    if "application_credential" in methods:
        return _app_credential_auth(req, identity)
    if "password" in methods:
        return _password_auth(req, auth, identity)
    if "token" in methods:
        return _token_auth(req, auth, identity)
    raise Fault(401, f"Unsupported authentication method: {methods[0]}.")


def token_body(req: Req, scope: Scope, catalog: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "methods": scope.methods, "audit_ids": [scope.token.audit_id],
        "expires_at": _stamp(scope.token.expires_at),
        "issued_at": _stamp(scope.token.issued_at),
        "user": {"id": scope.user.id, "name": scope.user.name, "domain": DOMAIN,
                 "password_expires_at": None},
        "project": {"id": scope.project.id, "name": scope.project.name, "domain": DOMAIN},
        "is_domain": False,
        "roles": [{"id": r, "name": r} for r in scope.roles],
    }
    if scope.token.app_credential_id:
        body["application_credential"] = {"id": scope.token.app_credential_id,
                                          "restricted": True}
    if catalog:
        body["catalog"] = service_catalog(req.host_url, req.cloud.settings.region,
                                          scope.project.id)
    return {"token": body}


@router.route(f"{V3}/auth/tokens", "POST", Need.NOTHING)
def issue_token(req: Req) -> Response:
    token, scope = req.cloud.identity.tokens.issue(_token_request(req))
    nocatalog = "nocatalog" in req.query
    return json_response(token_body(req, scope, not nocatalog), 201,
                         {"X-Subject-Token": token})


def _subject(req: Req) -> tuple[str, Scope]:
    token = req.request.headers.get("X-Subject-Token", "")
    scope = req.cloud.identity.tokens.validate(token)
    if scope is None:
        raise Fault(404, "Could not find token.")
    assert req.scope is not None
    if scope.user.id != req.scope.user.id and not req.scope.is_cloud_admin:
        raise Fault(403, "You may only check your own tokens.")
    return token, scope


@router.route(f"{V3}/auth/tokens", "GET", Need.TOKEN)
def check_token(req: Req) -> Response:
    token, scope = _subject(req)
    return json_response(token_body(req, scope, "nocatalog" not in req.query), 200,
                         {"X-Subject-Token": token})


@router.route(f"{V3}/auth/tokens", "DELETE", Need.TOKEN)
def revoke_token(req: Req) -> Response:
    token, _scope = _subject(req)
    req.cloud.identity.tokens.revoke(token)
    return no_content()


@router.route(f"{V3}/auth/catalog", need=Need.TOKEN)
def catalog(req: Req) -> Response:
    assert req.scope is not None
    return json_response({"catalog": service_catalog(req.host_url, req.cloud.settings.region,
                                                     req.scope.project.id),
                          "links": {"self": f"{req.host_url}{V3}/auth/catalog"}})


class IdentityFace(Face):
    name = "identity"

    def __init__(self, cloud: Cloud) -> None:
        super().__init__(cloud, [router, identity_admin.router, identity_ec2.router])

    def fault(self, status: int, message: str) -> Response:
        title = TITLES.get(status, "Error")
        response = json_response({"error": {"code": status, "title": title,
                                            "message": message}}, status)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Keystone uri="/identity"'
        return response
