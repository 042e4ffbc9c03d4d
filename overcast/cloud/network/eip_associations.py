"""Associating Elastic IPs with instances and network interfaces.

An associated instance's public IP *is* the Elastic IP: Instance.public_ip holds it, so
DescribeInstances, the metadata service and Nova show it, and the agent hands it to the driver
in the instance's NetworkSpec (public_ip, and the forwards of its open ports on that address)
at launch and through update_network on a running VM. That is the whole driver-facing part:
user-mode networking forwards ports on the address; the kernel data plane translates it 1:1
on the VPC router's leg on the public network (public_plane.py, which needs `public_cidr`). The
auto-assigned address the instance had is given back; disassociating gives the instance a
fresh auto-assigned one (user-mode networking), as AWS does in a default subnet."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.cloud.network.addresses import Addresses
from overcast.cloud.network.elastic_ips import ElasticIps
from overcast.db import Database, utcnow
from overcast.db.models import Host, Instance
from overcast.db.models_eips import ElasticIp
from overcast.db.models_network import NetworkInterface, Subnet
from overcast.drivers.base import KERNEL_NETWORK
from overcast.drivers.registry import capabilities_of
from overcast.errors import Conflict, DryRunOk, InvalidParameter, NotFound, invalid
from overcast.identity.context import Context
from overcast.ids import check_instance_ids, is_well_formed, new_id, primary_interface_id
from overcast.lifecycle import State

GONE = (State.SHUTTING_DOWN, State.TERMINATED)


@dataclass(frozen=True)
class Target:
    """What an address is associated with: an instance's primary interface, or an interface
    attached to nothing."""

    instance: Instance | None
    interface_id: str
    private_ip: str


@dataclass(frozen=True)
class AssociateRequest:
    allocation_id: str | None = None
    public_ip: str | None = None
    instance_id: str | None = None
    interface_id: str | None = None
    private_ip: str | None = None
    allow_reassociation: bool | None = None  # None: reassociation is automatic, as in AWS
    dry_run: bool = False


class Associations:
    def __init__(self, db: Database, eips: ElasticIps, addresses: Addresses,
                 changed: Callable[[], None]) -> None:
        self.db, self.eips, self.addresses = db, eips, addresses
        self.changed = changed  # wakes the agent to apply the instance's new addresses

    def associate(self, ctx: Context, req: AssociateRequest) -> str:
        """The association's ID (the same one again when nothing changes)."""
        if req.instance_id and req.interface_id:
            raise InvalidParameter("InvalidParameterCombination",
                                   "Specify either an instance ID or a network interface ID, "
                                   "not both.")
        if not req.instance_id and not req.interface_id:
            raise InvalidParameter("MissingParameter",
                                   "Either an instance ID or a network interface ID must be "
                                   "specified.")
        with self.db.session() as s:
            target = self._target(s, ctx, req)  # locks the instance first, then the address
            row = self.eips.find(s, ctx, req.allocation_id, req.public_ip)
            if row.association_id and _same(row, target):
                return row.association_id
            if row.association_id and req.allow_reassociation is False:
                raise Conflict("Resource.AlreadyAssociated",
                               f"resource {row.id} is already associated with associate-id "
                               f"{row.association_id}")
            if req.dry_run:
                raise DryRunOk()
            if row.association_id:
                self._take_back(s, row)
            for other in s.scalars(select(ElasticIp).where(
                    ElasticIp.network_interface_id == target.interface_id,
                    ElasticIp.private_ip == target.private_ip).with_for_update()):
                self._take_back(s, other, refill=False)  # the new address replaces it
            row.association_id = new_id("eipassoc")
            row.instance_id = target.instance.id if target.instance else None
            row.network_interface_id, row.private_ip = target.interface_id, target.private_ip
            if target.instance is not None:
                self.eips.leases.release_instance(s, target.instance.id)  # an auto-assigned one
                _set_public_ip(target.instance, row.public_ip)
            association_id = row.association_id
        self.changed()
        return association_id

    def disassociate(self, ctx: Context, association_id: str | None, public_ip: str | None,
                     dry_run: bool = False) -> None:
        with self.db.session() as s:
            row = self._associated(s, ctx, association_id, public_ip)
            if dry_run:
                raise DryRunOk()
            self._take_back(s, row)
        self.changed()

    def _associated(self, s: Session, ctx: Context, association_id: str | None,
                    public_ip: str | None) -> ElasticIp:
        """The address named by its association (a public IP named EC2-Classic's)."""
        if association_id is None:
            if public_ip is None:
                raise InvalidParameter("MissingParameter",
                                       "The request must contain the parameter AssociationId")
            self.eips.refuse_classic(s, ctx, public_ip, "an association ID")
        if not is_well_formed(association_id, "eipassoc"):
            raise InvalidParameter("InvalidAssociationID.Malformed",
                                   f'Invalid id: "{association_id}" (expecting "eipassoc-...")')
        row = s.scalar(select(ElasticIp).where(
            ElasticIp.association_id == association_id,
            ElasticIp.project_id == ctx.project_id).with_for_update())
        if row is None:
            raise NotFound("InvalidAssociationID.NotFound",
                           f"The association ID '{association_id}' does not exist")
        return row

    def _target(self, s: Session, ctx: Context, req: AssociateRequest) -> Target:
        if req.instance_id:
            check_instance_ids([req.instance_id])
            target = self._instance_target(s, ctx, req.instance_id)
            if target is None:
                raise NotFound("InvalidInstanceID.NotFound",
                               f"The instance ID '{req.instance_id}' does not exist")
        else:
            target = self._interface_target(s, ctx, str(req.interface_id))
        if req.private_ip is not None and req.private_ip != target.private_ip:
            raise invalid(f"The private IP address {req.private_ip} is not assigned to "
                          f"{target.interface_id}.")
        return target

    def _instance_target(self, s: Session, ctx: Context, instance_id: str) -> Target | None:
        instance = s.scalar(select(Instance).where(
            Instance.id == instance_id, Instance.project_id == ctx.project_id)
            .with_for_update())
        if instance is None:
            return None
        if instance.state in GONE or not instance.private_ip:
            raise Conflict("IncorrectInstanceState",
                           f"The instance '{instance_id}' is not in a valid state for this "
                           f"operation.")
        if not self._manages_public_ips(s, instance):
            raise InvalidParameter("UnsupportedOperation",
                                   f"The instance '{instance_id}' runs on a host whose public "
                                   f"addresses this cloud does not manage.")
        return Target(instance, primary_interface_id(instance.id), instance.private_ip)

    def _manages_public_ips(self, s: Session, instance: Instance) -> bool:
        """Loopback public IPs (user-mode networking), or a kernel data plane with the cloud's
        public network configured."""
        host = s.execute(select(Host.driver, Host.network_mode)
                         .where(Host.id == instance.host_id)).first()
        if host is None:
            return False
        return capabilities_of(*host).loopback_public_ips or (
            host.network_mode == KERNEL_NETWORK and bool(self.eips.settings.public_cidr))

    def _fresh_address(self, s: Session, instance: Instance) -> str | None:
        """The auto-assigned public IP an instance gets back when its Elastic IP goes: a
        loopback one (user-mode networking), or one of the public network when its subnet maps
        public IPs on launch."""
        if _loopback_host(s, instance):
            return self.addresses.free_address(s, instance.host_id)
        maps = s.scalar(select(Subnet.map_public_ip_on_launch).where(
            Subnet.id == instance.subnet_id))
        return self.eips.leases.assign(s, instance.id) if maps else None

    def _interface_target(self, s: Session, ctx: Context, interface_id: str) -> Target:
        if not is_well_formed(interface_id, "eni"):
            raise InvalidParameter("InvalidNetworkInterfaceID.Malformed",
                                   f'Invalid id: "{interface_id}" (expecting "eni-...")')
        found = self._instance_target(s, ctx, "i-" + interface_id.removeprefix("eni-"))
        if found is not None:
            return found
        interface = s.scalar(select(NetworkInterface).where(
            NetworkInterface.id == interface_id, NetworkInterface.project_id == ctx.project_id))
        if interface is None:
            raise NotFound("InvalidNetworkInterfaceID.NotFound",
                           f"The networkInterface ID '{interface_id}' does not exist")
        return Target(None, interface.id, interface.private_ip)

    def _take_back(self, s: Session, row: ElasticIp, refill: bool = True) -> None:
        """Disassociate: the instance that had the address gets a fresh auto-assigned public
        IP (unless `refill` is off: another Elastic IP takes its place)."""
        instance = s.scalar(select(Instance).where(Instance.id == row.instance_id)
                            .with_for_update()) if row.instance_id else None
        if instance is not None and instance.public_ip == row.public_ip:
            _set_public_ip(instance, self._fresh_address(s, instance) if refill else None)
        row.association_id = row.instance_id = None
        row.network_interface_id = row.private_ip = None


def _loopback_host(s: Session, instance: Instance) -> bool:
    """Does the instance's host give it an auto-assigned loopback public IP."""
    host = s.execute(select(Host.driver, Host.network_mode)
                     .where(Host.id == instance.host_id)).first()
    return host is not None and capabilities_of(*host).loopback_public_ips


def _same(row: ElasticIp, target: Target) -> bool:
    return (row.network_interface_id, row.private_ip) == (target.interface_id,
                                                          target.private_ip)


def _set_public_ip(instance: Instance, public_ip: str | None) -> None:
    """A new public IP, stamped so the host's agent reads the row again and moves the
    forwards."""
    instance.public_ip = public_ip
    instance.updated_at = utcnow().timestamp()
