"""Flavors as each microversion writes them (description 2.55, extra_specs 2.61, swap 0 from
2.75) and their extra specs (os-extra_specs). Overcast's instance types carry no extra
specs: the list is empty, and the admin cannot add any (the scheduler would ignore them)."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from overcast.api.openstack import microversions as mv
from overcast.api.openstack import nova_views as views
from overcast.api.openstack.catalog import COMPUTE
from overcast.api.openstack.wsgi import Fault, Need, Req, Router, json_response

router = Router()
V21 = f"{COMPUTE}/v2.1"
_NO_SPECS = "Extra specs are not supported here: the scheduler places by vCPUs, memory " \
            "and disk only."


def flavor_body(req: Req, itype: Any) -> dict[str, Any]:
    body = views.flavor_detail(req.host_url, itype)
    if mv.at_least(req, "flavor_description"):
        body["description"] = None
    if mv.at_least(req, "flavor_extra_specs"):
        body["extra_specs"] = {}
    if mv.at_least(req, "strict_schema"):
        body["swap"] = 0
    return body


def find_flavor(req: Req, flavor_id: str) -> Any:
    """The instance type named `flavor_id` (a catalog row), or a 404 fault."""
    found = req.cloud.catalog.instance_types().get(flavor_id)
    if found is None:
        raise Fault(404, f"Flavor {flavor_id} could not be found.")
    return found


@router.route(f"{V21}/flavors/<flavor_id>/os-extra_specs")
def list_extra_specs(req: Req) -> Response:
    find_flavor(req, req.args["flavor_id"])
    return json_response({"extra_specs": {}})


@router.route(f"{V21}/flavors/<flavor_id>/os-extra_specs/<key>")
def show_extra_spec(req: Req) -> Response:
    find_flavor(req, req.args["flavor_id"])
    raise Fault(404, f"Flavor {req.args['flavor_id']} has no extra specs with key "
                f"{req.args['key'][:64]}.")


@router.route(f"{V21}/flavors/<flavor_id>/os-extra_specs", "POST", Need.ADMIN)
@router.route(f"{V21}/flavors/<flavor_id>/os-extra_specs/<key>", ("PUT", "DELETE"),
              Need.ADMIN)
def change_extra_specs(req: Req) -> Response:
    find_flavor(req, req.args["flavor_id"])
    if req.request.method == "DELETE":
        raise Fault(404, f"Flavor {req.args['flavor_id']} has no extra specs with key "
                    f"{req.args['key'][:64]}.")
    raise Fault(400, _NO_SPECS)
