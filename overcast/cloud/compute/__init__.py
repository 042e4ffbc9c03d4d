"""The compute wing: instances and everything that makes, places and runs them.

instances (describe, state changes, the agent's view), instance_filters (DescribeInstances
filters), launch (RunInstances: checks, quotas, placement, pending rows), launch_tokens
(ClientToken idempotency), launch_templates and launch_template_data, keypairs, catalog
(instance types, region, zones), hosts and hyperv_hosts, start_checks (room to start a stopped
instance), snapshots (images made from instances), burst (remote EC2 targets), metadata (what
an instance is told about itself), nova_actions (locks and Nova's instance actions), usage
(os-simple-tenant-usage).
"""

from __future__ import annotations

from overcast.cloud.compute.burst import KEEP, Burst, NewTarget, TargetChange
from overcast.cloud.compute.catalog import HOST_DRIVERS, Catalog
from overcast.cloud.compute.host_credentials import HostCredentials, JoinRefused
from overcast.cloud.compute.hosts import Hosts
from overcast.cloud.compute.hyperv_hosts import HyperVHosts
from overcast.cloud.compute.instances import (
    DEFAULT_ROOT_DEVICE,
    AttributeChange,
    InstanceOptions,
    Instances,
    InstanceView,
    MetadataOptions,
    StateChange,
    check_shutdown_behavior,
    private_dns_name,
)
from overcast.cloud.compute.keypairs import KeyPairs
from overcast.cloud.compute.launch import (
    Launched,
    Launcher,
    Networking,
    NetworkRequest,
    RunRequest,
    ServerCreate,
    quotas,
)
from overcast.cloud.compute.launch_template_data import merge
from overcast.cloud.compute.launch_templates import (
    LaunchTemplate,
    LaunchTemplates,
    TemplateRef,
    VersionView,
)
from overcast.cloud.compute.metadata import InstanceFacts, InstanceMetadata
from overcast.cloud.compute.nova_actions import ActionView, NovaActions, check_unlocked
from overcast.cloud.compute.records import InstanceRecord, InstanceTypeRecord, KeyPairRecord
from overcast.cloud.compute.snapshots import SnapshotJob, SnapshotRequest, Snapshots, WrittenImage
from overcast.cloud.compute.start_checks import StartChecks
from overcast.cloud.compute.usage import InstanceUsage, Usage

__all__ = [
    "InstanceRecord", "InstanceTypeRecord", "KeyPairRecord",
    "AttributeChange", "Burst", "Catalog", "DEFAULT_ROOT_DEVICE", "HOST_DRIVERS", "Hosts",
    "HostCredentials",
    "HyperVHosts", "InstanceFacts", "InstanceMetadata", "InstanceOptions", "InstanceView",
    "Instances", "JoinRefused", "KEEP", "KeyPairs", "LaunchTemplate", "LaunchTemplates",
    "Launched",
    "Launcher", "MetadataOptions", "NetworkRequest", "Networking", "NewTarget", "RunRequest",
    "ServerCreate", "SnapshotJob", "SnapshotRequest", "Snapshots", "StartChecks",
    "StateChange", "TargetChange", "TemplateRef", "VersionView", "WrittenImage",
    "ActionView", "InstanceUsage", "NovaActions", "Usage", "check_unlocked",
    "check_shutdown_behavior", "merge", "private_dns_name", "quotas",
]
