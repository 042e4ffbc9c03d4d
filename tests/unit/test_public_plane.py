"""The public part of a host's desired network (kernel networking): the internet gateway's
route, Elastic IPs and NAT gateways as the service layer hands them to the driver; the public
network's settings and checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from overcast.cli import preflight
from overcast.cli.preflight import CliError
from overcast.cloud.compute.launch import NetworkRequest, RunRequest
from overcast.cloud.network import AssociateRequest
from overcast.cloud.network.routes import RouteRequest
from overcast.config import Settings
from overcast.db.models_nat import PublicAddressLease
from overcast.drivers.base import HostCapacity
from overcast.drivers.network.spec import NatGatewaySpec, PublicMapping, VpcSpec
from overcast.drivers.registry import public_network
from overcast.errors import CloudError
from tests.conftest import InProcessCloud, in_process_cloud

PUBLIC = "203.0.113.0/24"


@pytest.fixture
def made(tmp_path: Path) -> InProcessCloud:
    made = in_process_cloud(tmp_path, public_cidr=PUBLIC)
    made.cloud.hosts.heartbeat("h1", "qemu", "overcast-1a", HostCapacity(8, 8192, 100),
                               ("kernel", None))
    yield made
    made.cloud.db.dispose()


def _vpc(made: InProcessCloud) -> VpcSpec:
    host_id = made.cloud.hosts.list()[0].id
    (vpc,) = made.cloud.dataplane.host_network(host_id).vpcs
    return vpc


def test_public_addresses_map_to_their_instances(made: InProcessCloud) -> None:
    cloud, ctx, image = made
    (instance,) = cloud.run_instances(ctx, RunRequest(image)).instances
    auto = instance.public_ip  # the default subnet maps public IPs on launch
    assert auto is not None and auto.startswith("203.0.113.") and auto != "203.0.113.1"
    vpc = _vpc(made)
    assert vpc.public is not None
    assert vpc.public.mappings == (PublicMapping(auto, instance.private_ip),)
    assert cloud.vpcs.subnet_cidr(instance) in vpc.public.internet_cidrs  # default VPC: igw
    address = cloud.elastic_ips.allocate(ctx).address.public_ip
    assert address.startswith("203.0.113.") and address not in (auto, "203.0.113.1")
    association = cloud.eip_associations.associate(ctx, AssociateRequest(
        public_ip=address, instance_id=instance.id))
    assert _vpc(made).public.mappings == (PublicMapping(address, instance.private_ip),)
    cloud.eip_associations.disassociate(ctx, association, None)
    fresh = cloud.instances.rows([instance.id])[0].public_ip
    assert fresh is not None and fresh != address  # a fresh one, as AWS gives
    assert _vpc(made).public.mappings == (PublicMapping(fresh, instance.private_ip),)
    cloud.instances.change(ctx, [instance.id], "terminate")
    cloud.instances.observe(instance.id, "destroyed")  # as the agent does
    with cloud.db.read() as s:
        assert s.scalar(select(PublicAddressLease).where(
            PublicAddressLease.instance_id == instance.id)) is None


def test_elastic_ips_and_launches_never_share_an_address(tmp_path: Path) -> None:
    cloud, ctx, image = in_process_cloud(tmp_path, public_cidr="203.0.113.0/29",
                                         default_max_elastic_ips=10)
    cloud.hosts.heartbeat("h1", "qemu", "overcast-1a", HostCapacity(8, 8192, 100),
                          ("kernel", None))
    launched = cloud.run_instances(ctx, RunRequest(image, min_count=2, max_count=2)).instances
    allocated = []
    with pytest.raises(CloudError) as exc:
        for _ in range(6):
            allocated.append(cloud.elastic_ips.allocate(ctx).address.public_ip)
    assert exc.value.code == "InsufficientAddressCapacity"
    taken = [*(i.public_ip for i in launched), *allocated]
    assert sorted(taken) == [f"203.0.113.{n}" for n in range(2, 7)]  # not .1: the gateway
    (extra,) = cloud.run_instances(ctx, RunRequest(image)).instances
    assert extra.public_ip is None  # the pool is full: no public address, no failure
    cloud.db.dispose()


def test_a_private_subnet_routed_to_a_nat_gateway(made: InProcessCloud) -> None:
    cloud, ctx, image = made
    (public_instance,) = cloud.run_instances(ctx, RunRequest(image)).instances
    vpc_id = public_instance.vpc_id
    private = cloud.vpc_changes.create_subnet(ctx, vpc_id, "172.31.128.0/20", "overcast-1a")
    allocation = cloud.elastic_ips.allocate(ctx).address
    nat = cloud.nat_gateways.create(ctx, public_instance.subnet_id, allocation.id, "public",
                                    {}).nat
    table = cloud.route_tables.create(ctx, vpc_id, {}).table.id
    cloud.route_tables.associate(ctx, table, private.id)
    cloud.run_instances(ctx, RunRequest(image, network=NetworkRequest(subnet_id=private.id)))
    assert _vpc(made).public.nat_gateways == (NatGatewaySpec(nat.id, allocation.public_ip, ()),)
    cloud.routes.create(ctx, RouteRequest(table, "0.0.0.0/0", nat_gateway_id=nat.id))
    public = _vpc(made).public
    assert public.nat_gateways == (NatGatewaySpec(nat.id, allocation.public_ip,
                                                  ("172.31.128.0/20",)),)
    assert "172.31.128.0/20" not in public.internet_cidrs
    cloud.nat_gateways.delete(ctx, nat.id)
    assert _vpc(made).public.nat_gateways == ()


def test_a_vpc_without_an_attached_internet_gateway_has_no_public_part(
        made: InProcessCloud) -> None:
    cloud, ctx, image = made
    (instance,) = cloud.run_instances(ctx, RunRequest(image)).instances
    (gateway,) = cloud.internet_gateways.describe(ctx, [], [], None, None)[0]
    cloud.internet_gateways.detach(ctx, gateway.item.gateway_id, instance.vpc_id)
    assert _vpc(made).public is None


def test_public_network_settings_and_checks(tmp_path: Path) -> None:
    own = public_network(Settings(data_dir=tmp_path, public_cidr=PUBLIC))
    assert own is not None and own.own_bridge and own.gateway_ip == "203.0.113.1"
    assert own.bridge_netns and own.bridge_netns.startswith("ocpub-")
    lan = public_network(Settings(public_cidr="192.0.2.0/24", public_gateway="192.0.2.254",
                                  public_bridge="br-lan"))
    assert lan is not None and (lan.bridge, lan.bridge_netns, lan.own_bridge) == \
        ("br-lan", None, False) and lan.gateway_ip == "192.0.2.254"
    assert public_network(Settings()) is None
    preflight.check_public_network(Settings())
    preflight.check_public_network(Settings(network_mode="kernel", public_cidr=PUBLIC))
    for bad in (Settings(public_cidr=PUBLIC),  # user-mode networking
                Settings(network_mode="kernel", public_cidr="nonsense"),
                Settings(network_mode="kernel", public_cidr=PUBLIC, public_gateway="10.0.0.1"),
                Settings(network_mode="kernel", public_bridge="br-lan"),
                Settings(network_mode="kernel", public_cidr=PUBLIC,
                         public_bridge="no-such-br0")):
        with pytest.raises(CliError):
            preflight.check_public_network(bad)
