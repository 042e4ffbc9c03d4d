"""The cloud admin's compute views: os-hypervisors and os-services (one per host of the
hosts table), os-aggregates (none), and os-simple-tenant-usage (projects read their
own)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.wrappers import Response

from overcast.api.openstack import microversions as mv
from overcast.api.openstack.catalog import COMPUTE
from overcast.api.openstack.wsgi import Fault, Need, Req, Router, bad_request, iso, json_response
from overcast.cloud.compute import InstanceUsage
from overcast.scheduler import HostSnapshot

router = Router()
V21 = f"{COMPUTE}/v2.1"
HYPERVISOR_TYPES = {"qemu": "QEMU", "fake": "fake", "hyperv": "hyperv", "ec2": "ec2"}


def _host_id(req: Req, host: HostSnapshot, number: int) -> str | int:
    """From 2.53 hosts are named by UUID; before, by a number."""
    return str(uuid.UUID(hex=host.id)) if mv.at_least(req, "service_uuids") else number


def _hosts(req: Req) -> list[tuple[str | int, HostSnapshot]]:
    return [(_host_id(req, h, n), h) for n, h in enumerate(req.cloud.hosts.list(), 1)]


def _hypervisor(ident: str | int, host: HostSnapshot, detail: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"id": ident, "hypervisor_hostname": host.name,
                            "state": "up" if host.alive else "down",
                            "status": "enabled" if host.enabled else "disabled"}
    if detail:
        body.update({
            "vcpus": host.vcpus, "vcpus_used": host.used_vcpus,
            "memory_mb": host.memory_mib, "memory_mb_used": host.used_memory_mib,
            "free_ram_mb": host.memory_mib - host.used_memory_mib,
            "local_gb": host.disk_gib, "local_gb_used": host.used_disk_gib,
            "free_disk_gb": host.disk_gib - host.used_disk_gib,
            "disk_available_least": host.disk_gib - host.used_disk_gib,
            "hypervisor_type": HYPERVISOR_TYPES.get(host.driver, host.driver),
            "hypervisor_version": 1, "host_ip": "127.0.0.1", "current_workload": 0,
            "running_vms": 0, "cpu_info": {},
            "service": {"host": host.name, "id": ident, "disabled_reason": None}})
    return body


@router.route(f"{V21}/os-hypervisors", need=Need.ADMIN)
@router.route(f"{V21}/os-hypervisors/detail", need=Need.ADMIN)
def list_hypervisors(req: Req) -> Response:
    detail = req.request.path.rstrip("/").endswith("/detail")
    wanted = req.query.get("hypervisor_hostname_pattern")
    return json_response({"hypervisors": [
        _hypervisor(ident, host, detail) for ident, host in _hosts(req)
        if not wanted or wanted in host.name]})


@router.route(f"{V21}/os-hypervisors/<hypervisor_id>", need=Need.ADMIN)
def show_hypervisor(req: Req) -> Response:
    for ident, host in _hosts(req):
        if str(ident) == req.args["hypervisor_id"]:
            return json_response({"hypervisor": _hypervisor(ident, host, True)})
    raise Fault(404, f"Hypervisor with ID {req.args['hypervisor_id'][:64]} could not be "
                "found.")


@router.route(f"{V21}/os-hypervisors/<hypervisor_id>/uptime", need=Need.ADMIN)
def hypervisor_uptime(req: Req) -> Response:
    """Agents do not report their hosts' uptime: Nova's answer for a driver that cannot."""
    show_hypervisor(req)  # 404 for an unknown one
    raise Fault(501, "The host's uptime is not reported in this cloud.")


@router.route(f"{V21}/os-services", need=Need.ADMIN)
def list_services(req: Req) -> Response:
    binary, host_name = req.query.get("binary"), req.query.get("host")
    return json_response({"services": [
        {"id": ident, "binary": "nova-compute", "host": host.name,
         "zone": host.availability_zone, "status": "enabled" if host.enabled else "disabled",
         "state": "up" if host.alive else "down", "updated_at": None,
         "disabled_reason": None, "forced_down": False}
        for ident, host in _hosts(req)
        if binary in (None, "nova-compute") and host_name in (None, host.name)]})


@router.route(f"{V21}/os-aggregates", need=Need.ADMIN)
def list_aggregates(req: Req) -> Response:
    """Host aggregates: none are made here (hosts group by availability zone only)."""
    return json_response({"aggregates": []})


# usage ----------------------------------------------------------------------------------------

def _moment(value: str | None, default: datetime) -> datetime:
    if not value:
        return default
    try:
        found = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise bad_request(f"Invalid time format '{value[:40]}': expected ISO 8601.") from exc
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def _period(req: Req) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    start = _moment(req.query.get("start"), now - timedelta(days=1))
    end = _moment(req.query.get("end"), now)
    if start > end:
        raise bad_request("Invalid start time: it is after the end time.")
    return start, end


def _server_usage(item: InstanceUsage) -> dict[str, Any]:
    return {"instance_id": item.instance_uuid, "name": item.name_hint,
            "hours": item.hours, "flavor": item.flavor, "vcpus": item.vcpus,
            "memory_mb": item.memory_mib, "local_gb": item.disk_gib,
            "tenant_id": item.project_id, "state": item.state,
            "started_at": iso(item.started_at), "ended_at": iso(item.ended_at),
            "uptime": int(item.hours * 3600)}


def _tenant_usage(project_id: str, items: list[InstanceUsage], start: datetime,
                  end: datetime, detailed: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "tenant_id": project_id, "start": iso(start), "stop": iso(end),
        "total_hours": sum(i.hours for i in items),
        "total_vcpus_usage": sum(i.hours * i.vcpus for i in items),
        "total_memory_mb_usage": sum(i.hours * i.memory_mib for i in items),
        "total_local_gb_usage": sum(i.hours * i.disk_gib for i in items)}
    if detailed:
        body["server_usages"] = [_server_usage(i) for i in items]
    return body


@router.route(f"{V21}/os-simple-tenant-usage", need=Need.ADMIN)
def list_usage(req: Req) -> Response:
    start, end = _period(req)
    by_project: dict[str, list[InstanceUsage]] = {}
    for item in req.cloud.usage.between(req.ctx, start, end, None):
        by_project.setdefault(item.project_id, []).append(item)
    detailed = req.query.get("detailed") in ("1", "true", "True")
    return json_response({"tenant_usages": [
        _tenant_usage(p, items, start, end, detailed) for p, items in by_project.items()]})


@router.route(f"{V21}/os-simple-tenant-usage/<project_id>")
def show_usage(req: Req) -> Response:
    start, end = _period(req)
    items = req.cloud.usage.between(req.ctx, start, end, req.args["project_id"])
    return json_response({"tenant_usage": _tenant_usage(req.args["project_id"], items,
                                                        start, end, True) if items else {}})
