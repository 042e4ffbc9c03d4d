"""The service layer in one object: what every face calls."""

from __future__ import annotations

from overcast.cloud.compute import (
    Burst,
    Catalog,
    Hosts,
    InstanceMetadata,
    Instances,
    KeyPairs,
    Launched,
    Launcher,
    LaunchTemplates,
    Networking,
    NovaActions,
    RunRequest,
    ServerCreate,
    Snapshots,
    StartChecks,
    Usage,
)
from overcast.cloud.images import (
    ImageMembers,
    ImageQuotas,
    Images,
    ImageStore,
    ImageUploads,
    Metadefs,
)
from overcast.cloud.network import (
    Addresses,
    Associations,
    DataPlane,
    ElasticIps,
    InternetGateways,
    NetworkInterfaces,
    Routers,
    Routes,
    RouteTables,
    SecurityGroups,
    VpcAttributes,
    VpcChanges,
    Vpcs,
)
from overcast.cloud.network.nat_gateways import NatGateways
from overcast.cloud.network.public_leases import PublicLeases
from overcast.cloud.storage import (
    Attachments,
    CinderQuotas,
    CinderSnapshots,
    CinderVolumes,
    NovaAttachments,
    RootVolumes,
    VolumeJobs,
    VolumeQuotas,
    Volumes,
    VolumeSnapshots,
)
from overcast.cloud.storage.image_volumes import check_image_mappings, snapshot_data_volumes
from overcast.cloud.storage.launch_volumes import LaunchVolumes
from overcast.cloud.tags import Tags
from overcast.config import Settings
from overcast.db import Database
from overcast.db.models_network import NetworkInterface, Subnet, Vpc
from overcast.identity.context import Context
from overcast.identity.secrets import SecretBox
from overcast.identity.service import Identity


class Cloud:
    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings
        self.db = db or Database(settings.sqlalchemy_url)
        self.identity = Identity(self.db, SecretBox(settings.data_dir / "secret.key"))
        self.catalog = Catalog(self.db, settings.region)
        self.hosts = Hosts(self.db, settings.host_down_after)
        self.addresses = Addresses(self.db)
        self.image_store = ImageStore(self.db, settings.data_dir)
        self.image_quotas = ImageQuotas(settings)
        self.images = Images(self.db, settings.data_dir, store=self.image_store,
                             quotas=self.image_quotas)
        self.image_uploads = ImageUploads(self.db, self.image_store, self.image_quotas)
        self.image_members = ImageMembers(self.db, self.images)
        self.metadefs = Metadefs(self.db)  # Glance metadata definitions
        self.keypairs = KeyPairs(self.db)
        self.instances = Instances(self.db, settings.terminated_retention)
        self.vpcs = Vpcs(self.db, settings.region, self.catalog.availability_zones,
                         settings.default_subnet_prefix)
        self.security_groups = SecurityGroups(self.db, self.vpcs, self.instances.changed.set)
        self.vpc_changes = VpcChanges(self.db, self.vpcs)
        self.dataplane = DataPlane(self.db)  # what each host's network driver builds
        self.network_interfaces = NetworkInterfaces(self.db, self.vpcs)
        self.root_volumes = RootVolumes(self.instances)
        self.vpc_attributes = VpcAttributes(self.db)
        self.launch_templates = LaunchTemplates(self.db)
        self.instances.zone_id = self.vpcs.zone_id
        self.instances.check_start = StartChecks(settings, self.hosts)
        self.elastic_ips = ElasticIps(self.db, settings, self.addresses)
        self.launcher = Launcher(self.db, settings, self.catalog, self.images, self.keypairs,
                                 self.hosts,
                                 networking=Networking(self.vpcs, self.security_groups,
                                                       self.addresses, self.elastic_ips.leases))
        self.burst = Burst(self.db, SecretBox(settings.data_dir / "secret.key"),
                           settings.region)
        self.launcher.burst = self.burst
        self.metadata = InstanceMetadata(self.db, settings.region, self.security_groups,
                                         self.vpcs)
        self.tags = Tags(self.db)
        self.instances.on_terminated.append(PublicLeases.release_instance)
        self.eip_associations = Associations(self.db, self.elastic_ips, self.addresses,
                                             self.instances.changed.set)
        self.internet_gateways = InternetGateways(self.db)
        self.route_tables = RouteTables(self.db)
        self.routes = Routes(self.db)
        self.nat_gateways = NatGateways(self.db, self.vpcs, self.elastic_ips)
        self.routers = Routers(self.db)  # Neutron's view of the above
        self.snapshots = Snapshots(self.db, self.images, self.instances)
        self.nova_actions = NovaActions(self.db)  # locks and instance actions
        self.usage = Usage(self.db)
        self.volumes = Volumes(self.db, VolumeQuotas(settings), self.root_volumes,
                               self.catalog.availability_zones, self.instances.changed.set)
        self.volume_attachments = Attachments(self.db, self.volumes, self.instances)
        self.volume_jobs = VolumeJobs(self.db)
        self.instances.on_terminated.append(VolumeJobs.release_instance)
        self.volume_snapshots = VolumeSnapshots(self.db, self.volumes)
        self.cinder_volumes = CinderVolumes(  # the Cinder face's view of the same rows
            self.db, self.volumes, lambda ctx, ref: self.cinder_snapshots.snapshot_id(ctx, ref))
        self.cinder_snapshots = CinderSnapshots(self.db, self.cinder_volumes,
                                                self.volume_snapshots)
        self.cinder_quotas = CinderQuotas(self.db, settings)
        self.nova_attachments = NovaAttachments(self.db, self.volume_attachments,
                                                self.cinder_volumes)
        self.launcher.disks = LaunchVolumes(self.volumes, self.volumes.quotas)
        self.images.check_mappings = check_image_mappings
        self.snapshots.on_created.append(snapshot_data_volumes)
        self.tags.resolvers.update({
            "instance": self.instances.exists,
            "image": self.images.exists,
            "key-pair": lambda s, ctx, rid: any(k.id == rid for k in self.keypairs.list(ctx)),
            "security-group": self.security_groups.exists,
            "vpc": self.vpcs.exists(Vpc),
            "subnet": self.vpcs.exists(Subnet),
            "network-interface": lambda s, ctx, rid: self.vpcs.exists(NetworkInterface)(
                s, ctx, rid) or RootVolumes.attached_exists(s, ctx, rid),
            "volume": self.volumes.exists,
            "snapshot": self.volume_snapshots.exists,
            "launch-template": LaunchTemplates.exists,
            "elastic-ip": self.elastic_ips.exists,
            "internet-gateway": InternetGateways.exists,
            "route-table": RouteTables.exists,
            "natgateway": NatGateways.exists,
        })

    def prepare(self) -> None:
        """Migrate the schema and seed the catalog; safe to call on every start."""
        self.db.migrate()
        self.catalog.seed()

    def tidy(self) -> None:
        """Housekeeping, at start and now and then: forget long-terminated instances, undo
        uploads that died, remove deleted images' files that nothing uses any more."""
        self.volume_jobs.release_ended()  # before their instances' rows go
        self.instances.purge_terminated()
        self.image_store.recover_uploads()
        self.image_store.collect()

    def run_instances(self, ctx: Context, req: RunRequest) -> Launched:
        launched = self.launcher.run(ctx, req)
        self.volumes.wake()  # also wakes the agents for the new instances
        return launched

    def create_server(self, ctx: Context, req: ServerCreate) -> Launched:
        """Nova's server create: every check and the launch in one transaction."""
        launched = self.launcher.create_server(ctx, req)
        self.volumes.wake()  # also wakes the agents for the new instances
        return launched


def reach_database(url: str) -> None:
    """Connect once to the database at `url` and let go: raises SQLAlchemy's error when it
    cannot be reached (checked by `overcast up` before it changes anything)."""
    db = Database(url)
    try:
        with db.engine.connect():
            pass
    finally:
        db.dispose()
