"""Kernel networking with real qemu guests (TCG), as root: `overcast up --network-mode kernel`.

Two instances in the default group reach each other's private address; a third, in group db,
is refused until db admits the default group, and then within a second; each guest reads its
own metadata through its port. The test reaches guests by ssh from the VPC's namespace (the
cloud's router; the cloud's own namespaces, nothing on the machine's real interfaces). After
terminate and `overcast up` stopping with no instance left: no tap, namespace, nftables table
or dnsmasq of the cloud remains.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from overcast.drivers.network.kernel import KernelNetwork, missing_requirements
from overcast.drivers.network.spec import tap_device
from tests.conftest import RunningCloud, cloud_env, free_port, wait_for_state
from tests.e2e.test_elastic_ips_qemu import _console_says, _qemu_pids

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="needs qemu"),
    pytest.mark.skipif(bool(missing_requirements()),
                       reason=f"kernel networking needs {missing_requirements()}"),
]
BOOT_LINE = "overcast-testimage: booted"
SSH = ["ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
       "-o", "ConnectTimeout=5", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]
REACHED = "64 bytes from"


def _ssh(netns: str, key: Path, address: str, command: str,
         tty: bool = False) -> list[str]:
    return ["ip", "netns", "exec", netns, *SSH, *(["-tt"] if tty else []), "-i", str(key),
            f"root@{address}", command]


def _run(netns: str, key: Path, address: str, command: str, timeout: float = 60) -> str:
    """`command` in the guest, retried while ssh itself cannot get in (the guest booting)."""
    deadline = time.monotonic() + timeout
    while True:
        done = subprocess.run(_ssh(netns, key, address, command), capture_output=True,
                              text=True, errors="replace", timeout=60)
        if done.returncode != 255 or time.monotonic() > deadline:  # 255: ssh's own failure
            return done.stdout
        time.sleep(0.5)


def _wait_for(process: subprocess.Popen, text: str, timeout: float) -> tuple[float, bytes]:
    """Seconds until `text` appears in the process's output, and the output until then;
    fails after `timeout`."""
    start, seen = time.monotonic(), b""
    assert process.stdout is not None
    while text.encode() not in seen:
        left = timeout - (time.monotonic() - start)
        assert left > 0 and process.poll() is None, f"no {text!r} in {seen[-300:]!r}"
        if select.select([process.stdout], [], [], left)[0]:
            seen += os.read(process.stdout.fileno(), 4096)
    return time.monotonic() - start, seen


def _cloud_leftovers(data_dir: Path, netns: str, taps: list[str]) -> list[str]:
    left = []
    if netns in subprocess.run(["ip", "netns", "list"], capture_output=True,
                               text=True).stdout:
        left.append(netns)
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    left += [tap for tap in taps if f" {tap}:" in links or f" {tap}@" in links]
    dnsmasq = subprocess.run(["pgrep", "-af", "dnsmasq"], capture_output=True, text=True)
    left += [line for line in dnsmasq.stdout.splitlines() if str(data_dir) in line]
    return left


def test_vpc_traffic_groups_and_metadata(tmp_path_factory: pytest.TempPathFactory) -> None:
    tmp_path = tmp_path_factory.mktemp("knet")  # short: QMP sockets live under it
    env = cloud_env(tmp_path, driver="qemu", qemu_accel="tcg")
    cloud = RunningCloud(tmp_path / "data", free_port(), env,
                         up_args=("--network-mode", "kernel"))
    cloud.start()
    netns, taps = "", []
    try:
        ec2 = cloud.client()
        key = tmp_path / "k.pem"
        key.write_text(ec2.create_key_pair(KeyName="k")["KeyMaterial"])
        key.chmod(0o600)
        db = ec2.create_security_group(GroupName="db", Description="db")["GroupId"]
        image = ec2.describe_images()["Images"][0]["ImageId"]
        web = [i["InstanceId"] for i in ec2.run_instances(
            ImageId=image, InstanceType="t3.nano", KeyName="k", MinCount=2,
            MaxCount=2)["Instances"]]
        data = ec2.run_instances(ImageId=image, InstanceType="t3.nano", KeyName="k",
                                 MinCount=1, MaxCount=1,
                                 SecurityGroupIds=[db])["Instances"][0]["InstanceId"]
        ids = [*web, data]
        taps = [tap_device(i) for i in ids]
        found = {i["InstanceId"]: i for i in wait_for_state(ec2, ids, "running", timeout=180)}
        assert all("PublicIpAddress" not in i for i in found.values())
        for iid in ids:
            _console_says(ec2, iid, BOOT_LINE, timeout=180)
        a, b, c = (found[i]["PrivateIpAddress"] for i in ids)
        netns = "ocv-" + found[data]["VpcId"].removeprefix("vpc-")
        assert "source=metadata" in ec2.get_console_output(InstanceId=data)["Output"]

        assert _run(netns, key, a, "wget -q -O - http://169.254.169.254/latest/meta-data/"
                    "instance-id").strip() == web[0]
        assert REACHED in _run(netns, key, a, f"ping -c1 -W2 {b}")
        assert "SSH-" in _run(netns, key, a, f"echo | nc -w 2 {b} 22")
        assert "SSH-" not in _run(netns, key, a, f"echo | nc -w 2 {c} 22")

        pinging = subprocess.Popen(_ssh(netns, key, a, f"ping -i 0.1 -W 1 {c}", tty=True),
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            _wait_for(pinging, f"PING {c}", 60)  # ping runs, unanswered
            ec2.authorize_security_group_ingress(GroupId=db, IpPermissions=[{
                "IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": found[web[0]][
                    "SecurityGroups"][0]["GroupId"]}]}])
            elapsed = _wait_for(pinging, REACHED, 10)[0]
        finally:
            pinging.kill()
            pinging.wait(timeout=10)
        # the bound, plus the probe's 0.1 s interval
        assert elapsed < 1.1, f"traffic passed {elapsed:.2f} s after the rule"
        assert "SSH-" in _run(netns, key, a, f"echo | nc -w 2 {c} 22")
        print(f"traffic passed {elapsed:.3f} s after AuthorizeSecurityGroupIngress")

        # a controller restart leaves running guests' traffic alone: nothing lost
        pinging = subprocess.Popen(_ssh(netns, key, a, f"ping -c 60 -i 0.2 {b}"),
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            _wait_for(pinging, REACHED, 60)
            assert cloud.stop() == 0
            cloud.start()
            summary = _wait_for(pinging, "packet loss", 60)[1]
        finally:
            pinging.kill()
        assert b" 0% packet loss" in summary, summary

        ec2.terminate_instances(InstanceIds=ids)
        wait_for_state(ec2, ids, "terminated", timeout=120)
        deadline = time.monotonic() + 30  # the agent removes the VPC's namespace and taps
        while _cloud_leftovers(cloud.data_dir, netns, taps):
            assert time.monotonic() < deadline, _cloud_leftovers(cloud.data_dir, netns, taps)
            time.sleep(0.2)
    finally:
        assert cloud.stop() == 0
        if _qemu_pids(cloud.data_dir):  # the test failed before terminating: clean up
            for pid in _qemu_pids(cloud.data_dir):
                os.kill(pid, signal.SIGKILL)
            KernelNetwork(cloud.data_dir / "hosts" / "local" / "network").teardown()
    assert _cloud_leftovers(cloud.data_dir, netns, taps) == []
    assert not (cloud.data_dir / "hosts" / "local" / "network").exists() or not any(
        (cloud.data_dir / "hosts" / "local" / "network").iterdir())
