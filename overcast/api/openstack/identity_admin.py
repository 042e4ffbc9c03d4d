"""Keystone v3 resources: projects, users, roles, role assignments, application credentials.
Listing everyone is for the cloud admin; a user sees herself and her projects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from werkzeug.wrappers import Response

from overcast.api.openstack.catalog import IDENTITY
from overcast.api.openstack.wsgi import (
    Fault,
    Need,
    Req,
    Router,
    bad_request,
    json_response,
    no_content,
)
from overcast.clock import as_utc
from overcast.errors import CloudError
from overcast.identity.appcreds import NewAppCredential
from overcast.identity.records import AppCredentialRecord, ProjectRecord, UserRecord
from overcast.identity.roles import ROLES, expand

router = Router()
V3 = f"{IDENTITY}/v3"
DOMAIN_ID = "default"


def _project(req: Req, project: ProjectRecord) -> dict[str, Any]:
    return {"id": project.id, "name": project.name, "domain_id": DOMAIN_ID,
            "description": "", "enabled": True, "parent_id": DOMAIN_ID, "is_domain": False,
            "tags": [], "options": {},
            "links": {"self": f"{req.host_url}{V3}/projects/{project.id}"}}


def _user(req: Req, user: UserRecord) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "domain_id": DOMAIN_ID, "enabled": True,
            "default_project_id": user.project_id, "password_expires_at": None,
            "options": {}, "links": {"self": f"{req.host_url}{V3}/users/{user.id}"}}


def _role(req: Req, name: str) -> dict[str, Any]:
    return {"id": name, "name": name, "domain_id": None, "description": None, "options": {},
            "links": {"self": f"{req.host_url}{V3}/roles/{name}"}}


def _listing(req: Req, key: str, items: list[dict[str, Any]]) -> Response:
    name = req.query.get("name")
    if name is not None:
        items = [i for i in items if i.get("name") == name]
    return json_response({key: items, "links": {"self": req.request.base_url,
                                                "previous": None, "next": None}})


def _self_or_admin(req: Req, user_id: str) -> UserRecord:
    assert req.scope is not None
    if req.scope.user.id != user_id and not req.scope.is_cloud_admin:
        raise Fault(403, "You are not authorized to perform the requested action.")
    return req.cloud.identity.roles.user(user_id)


# projects -----------------------------------------------------------------------------------

@router.route(f"{V3}/projects", need=Need.ADMIN)
def list_projects(req: Req) -> Response:
    return _listing(req, "projects",
                    [_project(req, p) for p in req.cloud.identity.list_projects()])


@router.route(f"{V3}/projects", "POST", Need.ADMIN)
def create_project(req: Req) -> Response:
    spec = req.body().get("project")
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise bad_request("Expecting a project with a name.")
    project = req.cloud.identity.create_project(spec["name"])
    return json_response({"project": _project(req, project)}, 201)


@router.route(f"{V3}/projects/<project_id>", need=Need.TOKEN)
def show_project(req: Req) -> Response:
    assert req.scope is not None
    project = req.cloud.identity.roles.project(req.args["project_id"])
    if not req.scope.is_cloud_admin and project.id != req.scope.project.id:
        raise Fault(403, "You are not authorized to perform the requested action.")
    return json_response({"project": _project(req, project)})


@router.route(f"{V3}/auth/projects", need=Need.TOKEN)
def my_projects(req: Req) -> Response:
    assert req.scope is not None
    projects = req.cloud.identity.roles.projects_of(req.scope.user)
    return _listing(req, "projects", [_project(req, p) for p in projects])


@router.route(f"{V3}/users/<user_id>/projects", need=Need.TOKEN)
def user_projects(req: Req) -> Response:
    user = _self_or_admin(req, req.args["user_id"])
    return _listing(req, "projects", [_project(req, p)
                                      for p in req.cloud.identity.roles.projects_of(user)])


@router.route(f"{V3}/domains", need=Need.TOKEN)
def list_domains(req: Req) -> Response:
    return _listing(req, "domains", [_domain(req)])


@router.route(f"{V3}/domains/<domain_id>", need=Need.TOKEN)
def show_domain(req: Req) -> Response:
    if req.args["domain_id"] != DOMAIN_ID:
        raise Fault(404, f"Could not find domain: {req.args['domain_id']}.")
    return json_response({"domain": _domain(req)})


def _domain(req: Req) -> dict[str, Any]:
    return {"id": DOMAIN_ID, "name": "Default", "description": "The default domain",
            "enabled": True, "tags": [], "options": {},
            "links": {"self": f"{req.host_url}{V3}/domains/{DOMAIN_ID}"}}


# users --------------------------------------------------------------------------------------

@router.route(f"{V3}/users", need=Need.ADMIN)
def list_users(req: Req) -> Response:
    return _listing(req, "users", [_user(req, u) for u in req.cloud.identity.roles.users()])


@router.route(f"{V3}/users", "POST", Need.ADMIN)
def create_user(req: Req) -> Response:
    spec = req.body().get("user")
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise bad_request("Expecting a user with a name.")
    project_key = spec.get("default_project_id")
    if not isinstance(project_key, str):
        raise bad_request("Every user here needs a default_project_id.")
    identity = req.cloud.identity
    project = identity.roles.project(project_key)
    password = spec.get("password")
    if password is not None and not isinstance(password, str):
        raise bad_request("The password must be a string.")
    user = identity.create_user(spec["name"], project.name)
    if password:
        identity.roles.set_password(user.id, password)
    return json_response({"user": _user(req, identity.roles.user(user.id))}, 201)


@router.route(f"{V3}/users/<user_id>", need=Need.TOKEN)
def show_user(req: Req) -> Response:
    return json_response({"user": _user(req, _self_or_admin(req, req.args["user_id"]))})


# roles --------------------------------------------------------------------------------------

@router.route(f"{V3}/roles", need=Need.TOKEN)
def list_roles(req: Req) -> Response:
    return _listing(req, "roles", [_role(req, r) for r in ROLES])


@router.route(f"{V3}/roles/<role_id>", need=Need.TOKEN)
def show_role(req: Req) -> Response:
    if req.args["role_id"] not in ROLES:
        raise Fault(404, f"Could not find role: {req.args['role_id']}.")
    return json_response({"role": _role(req, req.args["role_id"])})


@router.route(f"{V3}/projects/<project_id>/users/<user_id>/roles/<role_id>", "PUT", Need.ADMIN)
def grant_role(req: Req) -> Response:
    req.cloud.identity.roles.assign(req.args["user_id"], req.args["project_id"],
                                    req.args["role_id"])
    return no_content()


@router.route(f"{V3}/projects/<project_id>/users/<user_id>/roles/<role_id>", "DELETE",
              Need.ADMIN)
def revoke_role(req: Req) -> Response:
    roles = req.cloud.identity.roles
    user = roles.user(req.args["user_id"])
    roles.unassign(user.id, req.args["project_id"], req.args["role_id"])
    req.cloud.identity.tokens.revoke_user(user.id)
    return no_content()


@router.route(f"{V3}/projects/<project_id>/users/<user_id>/roles", need=Need.ADMIN)
def project_user_roles(req: Req) -> Response:
    roles = req.cloud.identity.roles
    user, project = roles.user(req.args["user_id"]), roles.project(req.args["project_id"])
    return _listing(req, "roles", [_role(req, r) for r in roles.assigned(user, project.id)])


@router.route(f"{V3}/role_assignments", need=Need.ADMIN)
def role_assignments(req: Req) -> Response:
    found = req.cloud.identity.roles.assignments(req.query.get("user.id"),
                                                 req.query.get("scope.project.id"))
    effective = "effective" in req.query
    items = []
    for user_id, project_id, role in found:
        for name in (expand([role]) if effective else [role]):
            items.append({"role": {"id": name}, "user": {"id": user_id},
                          "scope": {"project": {"id": project_id}},
                          "links": {"assignment": f"{req.host_url}{V3}/projects/{project_id}"
                                                  f"/users/{user_id}/roles/{name}"}})
    return json_response({"role_assignments": items,
                          "links": {"self": req.request.base_url, "previous": None,
                                    "next": None}})


# application credentials ----------------------------------------------------------------------

def _credential(req: Req, row: AppCredentialRecord, secret: str | None = None) -> dict[str, Any]:
    body = {"id": row.id, "name": row.name, "description": row.description or None,
            "project_id": row.project_id, "user_id": row.user_id,
            "roles": [{"id": r, "name": r, "domain_id": None} for r in row.roles.split(",")],
            "unrestricted": row.unrestricted, "access_rules": [],
            "expires_at": as_utc(row.expires_at).replace(tzinfo=None).isoformat()
            if row.expires_at else None,
            "links": {"self": f"{req.host_url}{V3}/users/{row.user_id}/"
                              f"application_credentials/{row.id}"}}
    if secret is not None:
        body["secret"] = secret
    return body


def _expiry(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request("expires_at must be an ISO 8601 time.")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise bad_request(f"Invalid expires_at '{value[:40]}'.") from exc


def _wanted_roles(req: Req, spec: dict[str, Any]) -> list[str]:
    assert req.scope is not None
    held = req.scope.roles
    wanted = spec.get("roles")
    if wanted is None:
        return list(held)
    if not isinstance(wanted, list):
        raise bad_request("roles must be a list.")
    names = [r.get("name") or r.get("id") if isinstance(r, dict) else None for r in wanted]
    if any(n not in held for n in names):
        raise Fault(403, "An application credential cannot carry roles its user lacks on "
                    "the project.")
    return expand([str(n) for n in names])


@router.route(f"{V3}/users/<user_id>/application_credentials", "POST", Need.TOKEN)
def create_credential(req: Req) -> Response:
    assert req.scope is not None
    if req.scope.user.id != req.args["user_id"]:
        raise Fault(403, "You can only make application credentials for yourself.")
    if req.scope.token.app_credential_id:
        raise Fault(403, "An application credential cannot make another one.")
    spec = req.body().get("application_credential")
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise bad_request("Expecting an application_credential with a name.")
    if spec.get("secret") is not None and not isinstance(spec["secret"], str):
        raise bad_request("The secret must be a string.")
    row, secret = req.cloud.identity.app_credentials.create(NewAppCredential(
        req.scope.user, req.scope.project, spec["name"], _wanted_roles(req, spec),
        secret=spec.get("secret"), description=str(spec.get("description") or ""),
        expires_at=_expiry(spec.get("expires_at")),
        unrestricted=bool(spec.get("unrestricted"))))
    return json_response({"application_credential": _credential(req, row, secret)}, 201)


@router.route(f"{V3}/users/<user_id>/application_credentials", need=Need.TOKEN)
def list_credentials(req: Req) -> Response:
    user = _self_or_admin(req, req.args["user_id"])
    rows = req.cloud.identity.app_credentials.list(user.id, req.query.get("name"))
    return json_response({"application_credentials": [_credential(req, r) for r in rows],
                          "links": {"self": req.request.base_url, "previous": None,
                                    "next": None}})


@router.route(f"{V3}/users/<user_id>/application_credentials/<credential_id>",
              need=Need.TOKEN)
def show_credential(req: Req) -> Response:
    user = _self_or_admin(req, req.args["user_id"])
    row = req.cloud.identity.app_credentials.get(user.id, req.args["credential_id"])
    return json_response({"application_credential": _credential(req, row)})


@router.route(f"{V3}/users/<user_id>/application_credentials/<credential_id>", "DELETE",
              Need.TOKEN)
def delete_credential(req: Req) -> Response:
    user = _self_or_admin(req, req.args["user_id"])
    try:
        req.cloud.identity.app_credentials.delete(user.id, req.args["credential_id"])
    except CloudError as exc:
        raise Fault(404, exc.message) from exc
    return no_content()
