"""The public network with a real qemu guest (TCG), as root: `overcast up --network-mode kernel
--public-cidr 203.0.113.0/24` makes the cloud's own public bridge (in a namespace of its own).
A "client" namespace the test joins to that bridge reaches the guest over ssh at its
auto-assigned public address, then at its Elastic IP (and the guest reaches the public
network's gateway from it); after disassociation the Elastic IP answers no more. After
terminate and `overcast up` stopping: no namespace, tap or device of the cloud or the test
remains.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from overcast.config import Settings
from overcast.drivers.network.kernel import KernelNetwork, missing_requirements
from overcast.drivers.registry import public_network
from tests.conftest import RunningCloud, cloud_env, free_port, wait_for_state
from tests.e2e.test_elastic_ips_qemu import _console_says, _qemu_pids
from tests.e2e.test_kernel_network_qemu import SSH, _run

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="needs qemu"),
    pytest.mark.skipif(bool(missing_requirements()),
                       reason=f"kernel networking needs {missing_requirements()}"),
]
CIDR, CLIENT = "203.0.113.0/24", "203.0.113.50"
BOOT_LINE = "overcast-testimage: booted"
INSTANCE_ID = "wget -q -O - http://169.254.169.254/latest/meta-data/instance-id"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check,
                          timeout=20)


def _join_client(client: str, public_netns: str, bridge: str) -> None:
    """A namespace on the cloud's public bridge at CLIENT."""
    _ip("netns", "add", client)
    peer = "lc" + client[-8:]
    _ip("link", "add", peer, "netns", public_netns, "type", "veth", "peer", "name", "eth0",
        "netns", client)
    _ip("-n", public_netns, "link", "set", peer, "master", bridge, "up")
    _ip("-n", client, "link", "set", "eth0", "up")
    _ip("-n", client, "addr", "add", f"{CLIENT}/24", "dev", "eth0")


def _ssh_gets_in(client: str, key: Path, address: str) -> bool:
    done = subprocess.run(["ip", "netns", "exec", client, *SSH, "-o", "ConnectTimeout=2",
                           "-i", str(key), f"root@{address}", "true"], capture_output=True,
                          timeout=30)
    return done.returncode != 255  # 255: ssh's own failure


def _namespaces() -> str:
    return _ip("netns", "list").stdout


def test_an_elastic_ip_is_reached_from_the_public_network(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    tmp_path = tmp_path_factory.mktemp("pubnet")  # short: QMP sockets live under it
    env = cloud_env(tmp_path, driver="qemu", qemu_accel="tcg")
    cloud = RunningCloud(tmp_path / "data", free_port(), env,
                         up_args=("--network-mode", "kernel", "--public-cidr", CIDR))
    network = public_network(Settings(data_dir=cloud.data_dir, public_cidr=CIDR))
    assert network is not None and network.bridge_netns is not None
    client = f"occ-{uuid.uuid4().hex[:8]}"
    cloud.start()
    vpc_netns = ""
    try:
        ec2 = cloud.client()
        key = tmp_path / "k.pem"
        key.write_text(ec2.create_key_pair(KeyName="k")["KeyMaterial"])
        key.chmod(0o600)
        image = ec2.describe_images()["Images"][0]["ImageId"]
        iid = ec2.run_instances(ImageId=image, InstanceType="t3.nano", KeyName="k",
                                MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
        (found,) = wait_for_state(ec2, [iid], "running", timeout=180)
        group = found["SecurityGroups"][0]["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
            "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        _console_says(ec2, iid, BOOT_LINE, timeout=180)
        vpc_netns = "ocv-" + found["VpcId"].removeprefix("vpc-")
        auto = found["PublicIpAddress"]  # the default subnet maps public IPs on launch
        assert auto.startswith("203.0.113.")
        deadline = time.monotonic() + 30  # the agent gives the VPC its leg on the bridge
        while network.bridge_netns not in _namespaces():
            assert time.monotonic() < deadline, "no public network made"
            time.sleep(0.2)
        _join_client(client, network.bridge_netns, network.bridge)
        assert _run(client, key, auto, INSTANCE_ID, timeout=90).strip() == iid

        allocation = ec2.allocate_address(Domain="vpc")
        eip = allocation["PublicIp"]
        association = ec2.associate_address(AllocationId=allocation["AllocationId"],
                                            InstanceId=iid)["AssociationId"]
        assert _run(client, key, eip, INSTANCE_ID, timeout=30).strip() == iid
        assert not _ssh_gets_in(client, key, auto)  # the Elastic IP took its place
        assert "64 bytes from" in _run(client, key, eip, f"ping -c1 -W2 {network.gateway_ip}")

        ec2.disassociate_address(AssociationId=association)
        deadline = time.monotonic() + 10  # the agent applies it within a tick or two
        while _ssh_gets_in(client, key, eip):
            assert time.monotonic() < deadline, "the address still answers"
        assert not _ssh_gets_in(client, key, eip)
        ec2.release_address(AllocationId=allocation["AllocationId"])
        ec2.terminate_instances(InstanceIds=[iid])
        wait_for_state(ec2, [iid], "terminated", timeout=120)
    finally:
        _ip("netns", "del", client, check=False)
        assert cloud.stop() == 0
        if _qemu_pids(cloud.data_dir):  # the test failed before terminating: clean up
            for pid in _qemu_pids(cloud.data_dir):
                os.kill(pid, signal.SIGKILL)
            KernelNetwork(cloud.data_dir / "hosts" / "local" / "network",
                          public_network=network).teardown()
    left = _namespaces()
    assert client not in left and network.bridge_netns not in left
    assert not vpc_netns or vpc_netns not in left
