"""A cloud whose only compute host is a Hyper-V host: boto3 against the EC2 face, the agent
loop from overcast/agent/remote_hosts.py, the Hyper-V driver, and the simulated host of
tests/hyperv/simulator.py in place of the PSRP transport (no Windows host exists here)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from overcast.agent.remote_hosts import HyperVHostAgents
from overcast.api.app import App
from overcast.api.server import HttpServer
from overcast.cloud.compute.hyperv_hosts import HyperVHosts
from overcast.cloud.images.images import ImageFiles
from overcast.cloud.service import Cloud
from overcast.config import load_settings
from overcast.drivers.hyperv import HostConfig
from overcast.drivers.hyperv.transport import PsError
from overcast.errors import InvalidParameter
from overcast.identity.service import ADMIN_PROJECT
from tests.hyperv.conftest import PASSWORD
from tests.hyperv.simulator import SimulatedHost


class Harness:
    def __init__(self, cloud: Cloud, host: SimulatedHost, ec2: object, image_id: str,
                 agents: HyperVHostAgents) -> None:
        self.cloud, self.host, self.ec2, self.image_id = cloud, host, ec2, image_id
        self.agents = agents


def wait(condition: Callable[[], object], timeout: float = 20.0) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


@pytest.fixture
def harness(tmp_path: Path, qcow2_image: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    monkeypatch.setattr("overcast.agent.reconciler.HEARTBEAT_EVERY", 0.3)
    monkeypatch.setenv("HOME", str(tmp_path))
    cloud = Cloud(load_settings(data_dir=tmp_path / "data", driver="fake", host_down_after=2))
    cloud.prepare()
    cloud.identity.bootstrap()
    image = cloud.images.register_public("debian-disk", ImageFiles(
        disk_path=str(qcow2_image), disk_format="qcow2",
        size_bytes=qcow2_image.stat().st_size))
    HyperVHosts(cloud.db, cloud.identity.box).add(HostConfig(
        name="hv01", address="hv01.test", username="svc", password=PASSWORD,
        vm_path="D:\\overcast", switch="External"), cloud.catalog.default_zone)
    host = SimulatedHost(switch="External")
    agents = HyperVHostAgents(cloud, interval=0.1, transport_factory=lambda config: host,
                              retry_every=0.2, look_every=0.2)
    agents.interval = 0.2  # faster than `overcast up` would ask a real host
    server = HttpServer(App(cloud), "127.0.0.1", 0)
    server.start()
    agents.start()
    creds = cloud.identity.credentials(ADMIN_PROJECT)
    ec2 = boto3.client("ec2", endpoint_url=f"http://127.0.0.1:{server.port}",
                       region_name=cloud.settings.region,
                       aws_access_key_id=creds.access_key_id,
                       aws_secret_access_key=creds.secret_access_key,
                       config=Config(retries={"max_attempts": 1}))
    yield Harness(cloud, host, ec2, image.id, agents)
    agents.stop()
    server.stop()
    cloud.db.dispose()


def state(harness: Harness, instance_id: str) -> str:
    found = harness.ec2.describe_instances(InstanceIds=[instance_id])  # type: ignore[attr-defined]
    return found["Reservations"][0]["Instances"][0]["State"]["Name"]


def public_ip(harness: Harness, instance_id: str) -> str | None:
    found = harness.ec2.describe_instances(InstanceIds=[instance_id])  # type: ignore[attr-defined]
    return found["Reservations"][0]["Instances"][0].get("PublicIpAddress")


def status(harness: Harness, instance_id: str) -> tuple[str, str]:
    found = harness.ec2.describe_instance_status(  # type: ignore[attr-defined]
        InstanceIds=[instance_id], IncludeAllInstances=True)["InstanceStatuses"][0]
    return found["InstanceStatus"]["Status"], found["SystemStatus"]["Status"]


def test_instances_live_on_a_hyperv_host_and_survive_its_silence(harness: Harness) -> None:
    ec2, host = harness.ec2, harness.host
    # another cloud's VM on the same host: never listed, never removed as a stray
    host.vms["i-0aaaaaaaaaaaaaaaa"] = {"State": "Running", "Notes": "overcast-managed:other"}
    launched = ec2.run_instances(ImageId=harness.image_id, InstanceType="t3.micro",  # type: ignore[attr-defined]
                                 MinCount=1, MaxCount=1, UserData="#cloud-config\n")
    instance_id = launched["Instances"][0]["InstanceId"]
    assert "PublicIpAddress" not in launched["Instances"][0]  # no loopback address here
    wait(lambda: state(harness, instance_id) == "running")
    # the guest's address as the host reports it (IPv4, not link-local) is its public one
    wait(lambda: public_ip(harness, instance_id) == "192.0.2.10")
    vm = host.vms[instance_id]
    assert vm["State"] == "Running" and vm["CpuCount"] == 2 and vm["MemoryBytes"] == 1024**3
    assert vm["SwitchName"] == "External" and vm["Generation"] == 2
    assert vm["Notes"].startswith("overcast-managed:") and vm["Notes"] != "overcast-managed:other"
    iso = host.files[vm["IsoPath"]]
    assert iso[0x8001:0x8006] == b"CD001" and b"config-2" in iso  # a real config drive
    console = ec2.get_console_output(InstanceId=instance_id)  # type: ignore[attr-defined]
    assert f"{instance_id} login:" in console.get("Output", "") or console.get("Output")

    ec2.stop_instances(InstanceIds=[instance_id])  # type: ignore[attr-defined]
    wait(lambda: state(harness, instance_id) == "stopped")
    assert host.vms[instance_id]["State"] == "Off"
    ec2.start_instances(InstanceIds=[instance_id])  # type: ignore[attr-defined]
    wait(lambda: state(harness, instance_id) == "running")
    assert status(harness, instance_id) == ("ok", "ok")

    host.silent = True  # the host stops answering
    wait(lambda: status(harness, instance_id) == ("impaired", "impaired"), timeout=15)
    assert state(harness, instance_id) == "running"  # nothing lost
    host.silent = False
    wait(lambda: status(harness, instance_id) == ("ok", "ok"), timeout=15)

    ec2.terminate_instances(InstanceIds=[instance_id])  # type: ignore[attr-defined]
    wait(lambda: state(harness, instance_id) == "terminated")
    assert instance_id not in host.vms
    assert "i-0aaaaaaaaaaaaaaaa" in host.vms


def test_a_start_the_host_refuses_fails_the_launch_and_leaves_nothing(harness: Harness
                                                                      ) -> None:
    harness.host.fail["start_vm"] = PsError(
        "'vm' failed to start.\r\n\r\nNot enough memory in the system to start the virtual "
        "machine.", "OutOfMemory,Microsoft.HyperV.PowerShell.Commands.StartVM",
        "ResourceUnavailable: (:) [Start-VM], VirtualizationException")
    launched = harness.ec2.run_instances(  # type: ignore[attr-defined]
        ImageId=harness.image_id, InstanceType="t3.micro", MinCount=1, MaxCount=1)
    instance_id = launched["Instances"][0]["InstanceId"]
    wait(lambda: state(harness, instance_id) == "terminated")
    found = harness.ec2.describe_instances(  # type: ignore[attr-defined]
        InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    assert "Not enough memory" in found["StateReason"]["Message"]
    wait(lambda: instance_id not in harness.host.vms)  # the half-made VM is removed


def test_image_properties_choose_generation_and_secure_boot(harness: Harness) -> None:
    """Set as with `openstack image set --property hw_machine_type=hyperv-gen1`."""
    from overcast.db import utcnow
    from overcast.db.models_openstack import GlanceImage

    def launch(properties: dict[str, str]) -> dict:
        with harness.cloud.db.session() as s:
            s.merge(GlanceImage(image_id=harness.image_id, status="active",
                                visibility="public", tags="[]",
                                properties=json.dumps(properties), updated_at=utcnow()))
        launched = harness.ec2.run_instances(  # type: ignore[attr-defined]
            ImageId=harness.image_id, InstanceType="t3.micro", MinCount=1, MaxCount=1)
        instance_id = launched["Instances"][0]["InstanceId"]
        wait(lambda: state(harness, instance_id) == "running")
        return harness.host.vms[instance_id]

    gen1 = launch({"hw_machine_type": "hyperv-gen1"})
    assert (gen1["Generation"], gen1["SecureBootTemplate"]) == (1, "")
    windows = launch({"os_type": "windows"})
    assert (windows["Generation"], windows["SecureBootTemplate"]) == (2, "MicrosoftWindows")
    plain = launch({"os_secure_boot": "disabled"})
    assert (plain["Generation"], plain["SecureBootTemplate"]) == (2, "")


def test_an_image_asking_for_hyperv_lands_on_a_hyperv_host(harness: Harness) -> None:
    """`openstack image set --property hypervisor_type=hyperv`: only Hyper-V hosts qualify,
    even beside a local host that placement would pick otherwise (ties go to the first name)."""
    from overcast.db import utcnow
    from overcast.db.models import Instance
    from overcast.db.models_openstack import GlanceImage
    from overcast.drivers.base import HostCapacity

    cloud = harness.cloud
    local = cloud.hosts.heartbeat("a-local", "fake", cloud.catalog.default_zone,
                                  HostCapacity(vcpus=512, memory_mib=1 << 22, disk_gib=1 << 14))

    def host_of(properties: dict[str, str]) -> str | None:
        with cloud.db.session() as s:
            s.merge(GlanceImage(image_id=harness.image_id, status="active",
                                visibility="public", tags="[]",
                                properties=json.dumps(properties), updated_at=utcnow()))
        launched = harness.ec2.run_instances(  # type: ignore[attr-defined]
            ImageId=harness.image_id, InstanceType="t3.micro", MinCount=1, MaxCount=1)
        with cloud.db.session() as s:
            row = s.get(Instance, launched["Instances"][0]["InstanceId"])
            return row.host_id if row else None

    assert host_of({}) == local
    hyperv_host = host_of({"hypervisor_type": "hyperv"})
    assert hyperv_host not in (None, local)
    assert host_of({"hypervisor_type": "HyperV"}) == hyperv_host


def test_a_host_is_removed_only_once_it_runs_nothing(harness: Harness) -> None:
    ec2, hosts = harness.ec2, HyperVHosts(harness.cloud.db, harness.cloud.identity.box)
    launched = ec2.run_instances(ImageId=harness.image_id, InstanceType="t3.micro",  # type: ignore[attr-defined]
                                 MinCount=1, MaxCount=1)
    instance_id = launched["Instances"][0]["InstanceId"]
    wait(lambda: state(harness, instance_id) == "running")
    with pytest.raises(InvalidParameter, match=f"still has 1 instance.*{instance_id}"):
        hosts.remove("hv01")
    assert [h.name for h in harness.cloud.hosts.list()] == ["hv01"]
    ec2.terminate_instances(InstanceIds=[instance_id])  # type: ignore[attr-defined]
    wait(lambda: state(harness, instance_id) == "terminated")
    agent = harness.agents.agents["hv01"]
    hosts.remove("hv01")
    assert hosts.list() == [] and harness.cloud.hosts.list() == []
    # the running cloud lets it go: its agent ends, none re-registers it, launches find no
    # room
    wait(lambda: "hv01" not in harness.agents.agents and agent.stopped())
    assert harness.cloud.hosts.list() == []
    assert state(harness, instance_id) == "terminated"
    with pytest.raises(ClientError, match="InsufficientInstanceCapacity"):
        ec2.run_instances(ImageId=harness.image_id, InstanceType="t3.micro",  # type: ignore[attr-defined]
                          MinCount=1, MaxCount=1)


def test_an_instance_type_asking_for_hyperv_lands_on_a_hyperv_host(harness: Harness) -> None:
    """`overcast instance-type create … --driver hyperv`: the type alone sends a launch to a
    Hyper-V host, beside a local host that would win otherwise; a type and an image asking for
    different drivers are refused."""
    from overcast.db import utcnow
    from overcast.db.models import Instance
    from overcast.db.models_openstack import GlanceImage
    from overcast.drivers.base import HostCapacity

    cloud, ec2 = harness.cloud, harness.ec2
    local = cloud.hosts.heartbeat("a-local", "fake", cloud.catalog.default_zone,
                                  HostCapacity(vcpus=512, memory_mib=1 << 22, disk_gib=1 << 14))
    cloud.catalog.create_instance_type("hv.small", 1, 512, 8, driver="hyperv")
    with pytest.raises(InvalidParameter, match="Unknown driver"):
        cloud.catalog.create_instance_type("hv.odd", 1, 512, 8, driver="xen")

    def host_of(instance_type: str) -> str | None:
        launched = ec2.run_instances(ImageId=harness.image_id, InstanceType=instance_type,  # type: ignore[attr-defined]
                                     MinCount=1, MaxCount=1)
        with cloud.db.session() as s:
            row = s.get(Instance, launched["Instances"][0]["InstanceId"])
            return row.host_id if row else None

    assert host_of("t3.micro") == local
    assert host_of("hv.small") not in (None, local)
    with cloud.db.session() as s:
        s.merge(GlanceImage(image_id=harness.image_id, status="active", visibility="public",
                            tags="[]", properties=json.dumps({"hypervisor_type": "qemu"}),
                            updated_at=utcnow()))
    with pytest.raises(ClientError, match="InvalidParameterCombination"):
        host_of("hv.small")


def test_the_guest_address_shown_is_its_first_routable_ipv4() -> None:
    from overcast.agent.remote_hosts import guest_address

    assert guest_address(("fe80::215:5dff:fe00:1", "169.254.7.9", "10.1.2.3",
                          "10.9.9.9")) == "10.1.2.3"
    assert guest_address(("fe80::1", "not an address", "127.0.0.1")) is None
    assert guest_address(()) is None
