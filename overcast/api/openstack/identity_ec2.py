"""Keystone v3's EC2 credentials (OS-EC2), which `openstack ec2 credentials …` uses: they
are this cloud's EC2 access keys. A user manages their own, the cloud admin anyone's; the
secret is shown once, when the key is made (as IAM does). Also deleting a user."""

from __future__ import annotations

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
from overcast.errors import CloudError
from overcast.identity.access_keys import KeyInfo
from overcast.identity.records import UserRecord

router = Router()
V3 = f"{IDENTITY}/v3"
EC2 = f"{V3}/users/<user_id>/credentials/OS-EC2"


def _owner(req: Req) -> UserRecord:
    """The user in the path, if the caller is that user or the cloud admin."""
    assert req.scope is not None
    user = req.cloud.identity.roles.user(req.args["user_id"])
    if req.scope.user.id != user.id and not req.scope.is_cloud_admin:
        raise Fault(403, "You are not authorized to perform the requested action.")
    return user


def _credential(req: Req, key: KeyInfo, secret: str | None = None) -> dict[str, Any]:
    return {"user_id": key.user_id, "tenant_id": key.project_id, "access": key.access_key_id,
            "secret": secret, "trust_id": None,
            "links": {"self": f"{req.host_url}{V3}/users/{key.user_id}/credentials/OS-EC2/"
                              f"{key.access_key_id}"}}


def _owned_key(req: Req, user: UserRecord) -> KeyInfo:
    try:
        key = req.cloud.identity.access_keys.get(req.args["access"])
    except CloudError:
        key = None
    if key is None or key.user_id != user.id:
        raise Fault(404, f"Could not find credential: {req.args['access'][:32]}.")
    return key


@router.route(EC2, "POST", Need.TOKEN)
def create_ec2_credential(req: Req) -> Response:
    assert req.scope is not None
    user = _owner(req)
    if req.scope.token.app_credential_id:
        raise Fault(403, "An application credential cannot make EC2 credentials.")
    project_key = req.body().get("tenant_id")
    if not isinstance(project_key, str) or not project_key:
        raise bad_request("Expecting a tenant_id: the project the credential acts in.")
    identity = req.cloud.identity
    project = identity.roles.project(project_key)
    made = identity.create_access_key(project.name, user.id)
    key = identity.access_keys.get(made.access_key_id)
    return json_response({"credential": _credential(req, key, made.secret_access_key)}, 201)


@router.route(EC2, need=Need.TOKEN)
def list_ec2_credentials(req: Req) -> Response:
    user = _owner(req)
    keys = req.cloud.identity.access_keys.list(user_id=user.id)
    return json_response({"credentials": [_credential(req, k) for k in keys],
                          "links": {"self": req.request.base_url, "previous": None,
                                    "next": None}})


@router.route(f"{EC2}/<access>", need=Need.TOKEN)
def show_ec2_credential(req: Req) -> Response:
    return json_response({"credential": _credential(req, _owned_key(req, _owner(req)))})


@router.route(f"{EC2}/<access>", "DELETE", Need.TOKEN)
def delete_ec2_credential(req: Req) -> Response:
    key = _owned_key(req, _owner(req))
    req.cloud.identity.access_keys.delete(key.access_key_id)
    return no_content()


@router.route(f"{V3}/users/<user_id>", "DELETE", Need.ADMIN)
def delete_user(req: Req) -> Response:
    req.cloud.identity.delete_user(req.cloud.identity.roles.user(req.args["user_id"]).id)
    return no_content()
