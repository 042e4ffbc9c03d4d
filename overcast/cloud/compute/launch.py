"""RunInstances: validate, check quotas, place, and record the intent as pending rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from overcast.cloud import tags as tagsvc
from overcast.cloud.block_devices import BlockDevice, LaunchDisks, LaunchPlan
from overcast.cloud.compute.catalog import Catalog
from overcast.cloud.compute.hosts import Hosts, local_hosts
from overcast.cloud.compute.instances import DEFAULT_ROOT_DEVICE, InstanceOptions
from overcast.cloud.compute.keypairs import KeyPairs
from overcast.cloud.compute.launch_tokens import earlier_launch, request_digest
from overcast.cloud.compute.nova_actions import add_action
from overcast.cloud.compute.records import InstanceRecord, InstanceTypeRecord
from overcast.cloud.images import Images
from overcast.cloud.network import DEFAULT_VPC_CIDR, Addresses, SecurityGroups, Vpcs
from overcast.cloud.network.public_leases import PublicLeases
from overcast.config import Settings
from overcast.db import Database, utcnow
from overcast.db.models import Image, Instance, Project
from overcast.db.models_network import SecurityGroup, Subnet, Vpc
from overcast.db.models_openstack import GlanceImage
from overcast.drivers.base import KERNEL_NETWORK
from overcast.drivers.registry import HYPERVISOR_TYPES, capabilities_of
from overcast.errors import (
    DryRunOk,
    InsufficientCapacity,
    NotFound,
    QuotaExceeded,
    TooSmallForImage,
    invalid,
)
from overcast.identity.context import Context
from overcast.identity.records import ProjectRecord
from overcast.ids import new_id, new_mac, new_uuid
from overcast.lifecycle import HOLDS_CPU, State, log_transition
from overcast.scheduler import Demand, HostSnapshot, Ratios, place

if TYPE_CHECKING:
    from overcast.cloud.compute.burst import Burst

MAX_USER_DATA = 16 * 1024
# The default VPC's address space (each zone's default subnet is a /20 inside it).
DEFAULT_SUBNET = DEFAULT_VPC_CIDR
MAX_COUNT = 1000
# Built once: every launch runs them (building a statement costs more than running it).
_PROJECT_LOCKED = select(Project).where(Project.id == bindparam("project")).with_for_update()
_PROJECT_USAGE = select(  # counted in SQL, not row by row
    func.count(), func.sum(case((Instance.state.in_([str(x) for x in HOLDS_CPU]),
                                 Instance.vcpus), else_=0))).where(
    Instance.project_id == bindparam("project"),
    Instance.state.not_in([State.TERMINATED, State.SHUTTING_DOWN]))
_IMAGE_PROPERTIES = select(GlanceImage.properties).where(
    GlanceImage.image_id == bindparam("image"))
_IMAGE_MINIMUMS = select(GlanceImage.min_ram, GlanceImage.min_disk).where(
    GlanceImage.image_id == bindparam("image"))


@dataclass(frozen=True)
class NetworkRequest:
    """Where a launch goes on the network: a subnet (else each host's default one), the
    security groups by ID or name (else the VPC's default group), a fixed private IP."""

    subnet_id: str | None = None
    security_group_ids: tuple[str, ...] = ()
    security_group_names: tuple[str, ...] = ()
    private_ip: str | None = None


@dataclass(frozen=True)
class RunRequest:
    image_id: str
    instance_type: str = "t3.micro"
    min_count: int = 1
    max_count: int = 1
    key_name: str | None = None
    user_data: bytes = b""
    tags: dict[str, str] = field(default_factory=dict)
    client_token: str | None = None
    availability_zone: str | None = None
    dry_run: bool = False
    network: NetworkRequest = field(default_factory=NetworkRequest)
    options: InstanceOptions = field(default_factory=InstanceOptions)
    block_devices: tuple[BlockDevice, ...] = ()


@dataclass(frozen=True)
class ServerCreate:
    """Nova's server create as the service layer takes it: a launch whose image_id names the
    image as Nova does (Glance UUID or AMI ID), and the networks (VPC IDs) it names, which
    must be the project's. Checked with the launch, in its one transaction."""

    launch: RunRequest
    network_ids: tuple[str, ...] = ()
    request_id: str = ""  # recorded with Nova's "create" instance action


@dataclass(frozen=True)
class Launched:
    reservation_id: str
    instances: list[InstanceRecord]
    groups: list[tuple[str, str]] | None = None  # (ID, name) each instance has; None: ask


def _records(rows: list[Instance]) -> list[InstanceRecord]:
    return [InstanceRecord.of(r) for r in rows]


def _check_counts(req: RunRequest) -> None:
    if req.min_count < 1:
        raise invalid(f"Value ({req.min_count}) for parameter minCount is invalid. "
                      "Expected a positive integer.")
    if req.max_count < 1:
        raise invalid(f"Value ({req.max_count}) for parameter maxCount is invalid. "
                      "Expected a positive integer.")
    if req.min_count > req.max_count:
        raise invalid(f"Value ({req.max_count}) for parameter maxCount is invalid. "
                      f"Must be greater than or equal to minCount ({req.min_count}).")
    if req.max_count > MAX_COUNT:
        raise invalid(f"maxCount must be at most {MAX_COUNT}")
    if len(req.user_data) > MAX_USER_DATA:
        raise invalid(f"User data is limited to {MAX_USER_DATA} bytes")
    if req.client_token is not None and not 0 < len(req.client_token) <= 64:
        raise invalid("The client token must be 1 to 64 characters long.")
    if req.network.private_ip and req.max_count > 1:
        raise invalid("Network interfaces and an instance-level private IP address should "
                      "not be specified on the same request when launching more than one "
                      "instance.", "InvalidParameterCombination")
    req.options.check()


def quotas(project: Project | ProjectRecord, settings: Settings) -> tuple[int, int]:
    """A project's (max instances, max vCPUs): its own or the cloud's defaults."""
    return (settings.default_max_instances if project.max_instances is None
            else project.max_instances,
            settings.default_max_vcpus if project.max_vcpus is None else project.max_vcpus)


def wanted_driver(s: Session, image_id: str) -> str | None:
    """The driver an image asks for with Glance's `hypervisor_type` property, if any."""
    raw = s.scalar(_IMAGE_PROPERTIES, {"image": image_id})
    try:
        properties = json.loads(raw) if raw else {}
    except ValueError:
        return None
    wanted = properties.get("hypervisor_type") if isinstance(properties, dict) else None
    return HYPERVISOR_TYPES.get(str(wanted).lower()) if wanted else None


def check_fits(s: Session, image_id: str, itype: InstanceTypeRecord) -> None:
    """The instance type must be as large as the image asks (Glance's min_ram, min_disk)."""
    minimums = s.execute(_IMAGE_MINIMUMS, {"image": image_id}).first()
    if minimums is None:
        return
    if itype.memory_mib < minimums.min_ram:
        raise TooSmallForImage(
            "InvalidParameterValue", f"The instance type '{itype.name}' has {itype.memory_mib} "
            f"MiB of memory; the image '{image_id}' needs at least {minimums.min_ram} MiB.",
            subject="memory")
    if itype.disk_gib < minimums.min_disk:
        raise TooSmallForImage(
            "InvalidParameterValue", f"The instance type '{itype.name}' has a {itype.disk_gib} "
            f"GiB disk; the image '{image_id}' needs at least {minimums.min_disk} GiB.",
            subject="disk")


def _check_networks(s: Session, ctx: Context, vpc_ids: tuple[str, ...]) -> None:
    mine = set(s.scalars(select(Vpc.id).where(Vpc.project_id == ctx.project_id,
                                             Vpc.id.in_(vpc_ids)))) if vpc_ids else set()
    for vpc_id in vpc_ids:
        if vpc_id not in mine:
            raise NotFound("InvalidVpcID.NotFound", f"The vpc ID '{vpc_id}' does not exist",
                           subject=vpc_id)


def _driver_for(itype: InstanceTypeRecord, image_wants: str | None) -> str | None:
    """The driver whose hosts may run the launch: the instance type's or the image's."""
    if itype.driver and image_wants and itype.driver != image_wants:
        raise invalid(f"The instance type '{itype.name}' runs on {itype.driver} hosts and the "
                      f"image asks for {image_wants} hosts.", "InvalidParameterCombination")
    return itype.driver or image_wants


@dataclass(frozen=True)
class Networking:
    vpcs: Vpcs
    security_groups: SecurityGroups
    addresses: Addresses
    # kernel networking's public network: addresses given at launch (None: none)
    public_leases: PublicLeases | None = None


@dataclass
class Placement:
    """Where the rows of one launch go on the network."""

    vpc_id: str
    subnet: Subnet | None  # None: each host's default subnet
    groups: list[SecurityGroup]


class Launcher:
    burst: Burst | None = None  # set by Cloud: overflow to remote clouds (cloud/burst.py)
    disks: LaunchDisks | None = None  # set by Cloud: the volumes of block-device mappings

    def __init__(self, db: Database, settings: Settings, catalog: Catalog, images: Images,
                 keypairs: KeyPairs, hosts: Hosts, *, networking: Networking) -> None:
        self.db, self.settings, self.catalog = db, settings, catalog
        self.images, self.keypairs, self.hosts = images, keypairs, hosts
        self.networking = networking

    def run(self, ctx: Context, req: RunRequest) -> Launched:
        return self._launch(ctx, req, None)

    def create_server(self, ctx: Context, server: ServerCreate) -> Launched:
        return self._launch(ctx, server.launch, server)

    def _launch(self, ctx: Context, req: RunRequest, server: ServerCreate | None) -> Launched:
        _check_counts(req)
        tagsvc.validate(req.tags)
        default_vpc = self.networking.vpcs.ensure_defaults(ctx.project_id)
        digest = request_digest(req)
        try:
            return self._run(ctx, req, default_vpc, digest, server)
        except IntegrityError:  # a twin with the same token committed first: answer its launch
            if not req.client_token:
                raise
            with self.db.session() as s:
                earlier = earlier_launch(s, ctx.project_id, req.client_token, digest)
            if not earlier:
                raise
            return Launched(earlier[0].reservation_id, _records(earlier))

    def _run(self, ctx: Context, req: RunRequest, default_vpc: str, digest: str,
             server: ServerCreate | None = None) -> Launched:
        with self.db.session() as s:  # one transaction: checks, placement and the rows
            if server is None:
                self.images.launchable(s, ctx, req.image_id)
            else:
                req = replace(req, image_id=self.images.launchable_ref(s, ctx, req.image_id))
                _check_networks(s, ctx, server.network_ids)
            itype = self.catalog.instance_type(req.instance_type, s)
            check_fits(s, req.image_id, itype)
            if req.key_name is not None:
                self.keypairs.get(ctx, req.key_name, s)
            if req.availability_zone and req.availability_zone not in \
                    self.catalog.availability_zones(s):
                raise invalid(f"Invalid availability zone: [{req.availability_zone}]")
            where = self._network(s, ctx, req, default_vpc)
            plan = self._disk_plan(s, ctx, req)
            if req.dry_run:
                raise DryRunOk()
            if earlier := self._by_token(s, ctx, req, digest):
                return Launched(earlier[0].reservation_id, _records(earlier))
            count = self._allowed_count(s, ctx, req, itype)  # holds the project's lock
            if earlier := self._by_token(s, ctx, req, digest):  # committed while we waited
                return Launched(earlier[0].reservation_id, _records(earlier))
            zone = where.subnet.availability_zone if where.subnet else req.availability_zone
            hosts = self._place(s, req, itype, count, zone, ctx.project_id, plan.hosts)
            rows = self._create_rows(s, ctx, req, itype, hosts, where)
            if self.disks is not None:
                self.disks.create(s, ctx, plan, rows)
            if server is not None:
                for row in rows:
                    add_action(s, ctx, row.id, "create", server.request_id)
        for row in rows:
            log_transition(row.id, ctx.project_id, None, State.PENDING, "user: launch")
        return Launched(rows[0].reservation_id, _records(rows),
                        [(g.id, g.name) for g in where.groups])

    def _disk_plan(self, s: Session, ctx: Context, req: RunRequest) -> LaunchPlan:
        """The request's block-device mappings over the image's, checked."""
        image = s.get(Image, req.image_id)
        if self.disks is None or not (req.block_devices or (
                image is not None and image.block_device_mappings)):
            return LaunchPlan()
        root = image.root_device_name if image is not None else None
        return self.disks.plan(s, ctx, image, req.block_devices, root or DEFAULT_ROOT_DEVICE)

    def _network(self, s: Session, ctx: Context, req: RunRequest, default_vpc: str) -> Placement:
        net = req.network
        subnet = self.networking.vpcs.subnet_for_launch(s, ctx, net.subnet_id,
                                                        req.availability_zone)
        vpc_id = subnet.vpc_id if subnet else default_vpc
        groups = self.networking.security_groups.for_launch(
            s, ctx, vpc_id, net.security_group_ids, net.security_group_names)
        return Placement(vpc_id, subnet, groups)

    @staticmethod
    def _by_token(s: Session, ctx: Context, req: RunRequest, digest: str) -> list[Instance]:
        if not req.client_token:
            return []
        return earlier_launch(s, ctx.project_id, req.client_token, digest)

    def _allowed_count(self, s: Session, ctx: Context, req: RunRequest,
                       itype: InstanceTypeRecord) -> int:
        project = s.scalar(_PROJECT_LOCKED, {"project": ctx.project_id})
        assert project is not None
        live, used_vcpus = s.execute(_PROJECT_USAGE, {"project": ctx.project_id}).one()
        used_vcpus = int(used_vcpus or 0)
        max_instances, max_vcpus = quotas(project, self.settings)
        by_count = max_instances - int(live)
        by_vcpus = (max_vcpus - used_vcpus) // itype.vcpus
        if by_count < req.min_count:
            raise QuotaExceeded(
                "InstanceLimitExceeded",
                f"Your quota allows for {max(by_count, 0)} more running instance(s). "
                f"You requested at least {req.min_count}.")
        if by_vcpus < req.min_count:
            raise QuotaExceeded(
                "VcpuLimitExceeded",
                f"You have requested more vCPU capacity than your current vCPU limit of "
                f"{max_vcpus} allows for the instance bucket that the specified instance "
                f"type belongs to.")
        return min(req.max_count, by_count, by_vcpus)

    def _place(self, s: Session, req: RunRequest, itype: InstanceTypeRecord, count: int,
               zone: str | None, project_id: str = "",
               only: frozenset[str] | None = None) -> list[HostSnapshot]:
        demand = Demand(itype.vcpus, itype.memory_mib, itype.disk_gib, zone,
                        _driver_for(itype, wanted_driver(s, req.image_id)))
        ratios = Ratios(self.settings.cpu_allocation_ratio, self.settings.ram_allocation_ratio,
                        self.settings.disk_allocation_ratio)
        local = local_hosts(self.hosts.snapshots(s))
        if only is not None:  # mapped snapshots are kept on these hosts' disks
            local = [h for h in local if h.id in only]
        hosts, burst = place(local, demand, count, ratios), self.burst
        if only is not None:
            burst = None
        if burst and len(hosts) < count:  # local hosts first, then a burst target with room
            hosts += burst.place(s, project_id, req.image_id, itype, count - len(hosts), zone)
        if len(hosts) < req.min_count:
            raise InsufficientCapacity(
                "InsufficientInstanceCapacity",
                f"We currently do not have sufficient {itype.name} capacity in the "
                f"Availability Zone you requested. Our system will be working on "
                f"provisioning additional capacity.")
        return hosts

    def _addresses(self, s: Session, where: Placement, zone: str,
                   wanted: str | None, pools: dict[str, tuple[Subnet, Iterator[str]]],
                   ) -> tuple[Subnet, str]:
        """A subnet and a free private address in it for one instance in `zone`."""
        subnet = where.subnet or self.networking.vpcs.default_subnet(s, where.vpc_id, zone)
        if subnet.id not in pools:
            pools[subnet.id] = (subnet, self.networking.vpcs.free_addresses(s, subnet, wanted))
        return subnet, next(pools[subnet.id][1])

    def _public_address(self, s: Session, host: HostSnapshot, subnet: Subnet,
                        instance_id: str) -> str | None:
        # Hyper-V guests sit on a real switch and show the address they report, burst ones
        # the remote's; guests in user-mode networking get a loopback one with port forwards;
        # on kernel networking a subnet that maps public IPs gives one of the public network
        if host.network_mode == KERNEL_NETWORK and self.networking.public_leases is not None:
            return self.networking.public_leases.assign(s, instance_id) \
                if subnet.map_public_ip_on_launch else None
        if not capabilities_of(host.driver, host.network_mode).loopback_public_ips:
            return None
        # The rows of this launch not yet written hold addresses the search has gone past
        # already: no need to write them first.
        with s.no_autoflush:
            return self.networking.addresses.free_address(s, host.id)

    def _create_rows(self, s: Session, ctx: Context, req: RunRequest, itype: InstanceTypeRecord,
                     hosts: list[HostSnapshot], where: Placement) -> list[Instance]:
        reservation, digest = new_id("r"), request_digest(req)
        now = utcnow()
        pools: dict[str, tuple[Subnet, Iterator[str]]] = {}
        rows = []
        for index, host in enumerate(hosts):
            subnet, address = self._addresses(s, where, host.availability_zone,
                                              req.network.private_ip, pools)
            instance_id = new_id("i")
            row = Instance(public_ip=self._public_address(s, host, subnet, instance_id),
                id=instance_id, uuid=new_uuid(), project_id=ctx.project_id,
                reservation_id=reservation, launch_index=index, client_token=req.client_token,
                image_id=req.image_id, instance_type=itype.name, vcpus=itype.vcpus,
                memory_mib=itype.memory_mib, disk_gib=itype.disk_gib, key_name=req.key_name,
                user_data=req.user_data, state=State.PENDING, host_id=host.id,
                availability_zone=host.availability_zone, private_ip=address,
                subnet_id=subnet.id, vpc_id=subnet.vpc_id,
                mac_address=new_mac(), launch_time=now, updated_at=now.timestamp(),
                user_id=ctx.user_id or None, launch_digest=digest)
            req.options.apply(row)
            s.add(row)
            rows.append(row)
        s.flush()
        ids = [r.id for r in rows]
        self.networking.security_groups.attach(s, ids, where.groups)
        tagsvc.add_to_new(s, ctx.project_id, ids, req.tags)
        return rows
