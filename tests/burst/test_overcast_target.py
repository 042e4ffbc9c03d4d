"""Overcast bursting into a second Overcast on loopback whose host runs real qemu guests: the
burst instance is a real VM, and the first cloud returns its console."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.burst.conftest import TINY_HOST, fill_local_host_of, remote_instances_on
from tests.conftest import RunningCloud, cloud_env, free_port, start_cloud, wait_for_state

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="needs qemu"),
]
BOOT_LINE = "overcast-testimage: booted"


@pytest.fixture(scope="module")
def qemu_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    tmp = tmp_path_factory.mktemp("target")
    env = cloud_env(tmp, driver="qemu", qemu_accel="tcg",
                    metadata_listen=f"127.0.0.1:{free_port()}")
    cloud = RunningCloud(tmp / "data", free_port(), env)
    cloud.start()
    yield cloud
    cloud.stop()
    # guests outlive `overcast up` by design; the test must not leave any behind
    subprocess.run(["pkill", "-f", f"qemu-system-x86_64.*{cloud.data_dir}"], check=False)


def wait_boots(ec2, iid: str, times: int, timeout: float = 180) -> None:
    """Until the console the first cloud returns shows the guest booted `times` times."""
    deadline = time.monotonic() + timeout
    output = ""
    while output.count(BOOT_LINE) < times:
        assert time.monotonic() < deadline, output[-2000:]
        time.sleep(1)
        output = ec2.get_console_output(InstanceId=iid).get("Output") or ""


def test_burst_into_another_overcast_runs_a_real_vm(qemu_target: RunningCloud,
                                                    tmp_path: Path) -> None:
    source = start_cloud(tmp_path, **TINY_HOST)
    try:
        target_ec2, ec2 = qemu_target.client(), source.client()
        remote_image = target_ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        local_image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        creds = qemu_target.credentials
        source.overcast("burst", "add", "oc2", "--endpoint", qemu_target.endpoint, "--region",
                        creds["AWS_DEFAULT_REGION"], "--access-key", creds["AWS_ACCESS_KEY_ID"],
                        "--secret-key", creds["AWS_SECRET_ACCESS_KEY"])
        source.overcast("burst", "allow", "--project", "admin", "oc2")
        source.overcast("burst", "map-image", "oc2", local_image, remote_image)
        fill_local_host_of(ec2, local_image)
        ec2.create_key_pair(KeyName="k1")
        iid = ec2.run_instances(ImageId=local_image, InstanceType="t3.micro", MinCount=1,
                                MaxCount=1, KeyName="k1")["Instances"][0]["InstanceId"]
        wait_for_state(ec2, [iid], "running", timeout=120)
        [remote] = remote_instances_on(target_ec2, [iid])
        assert remote["ImageId"] == remote_image and remote["State"]["Name"] == "running"
        assert remote["KeyName"].startswith("overcast-")

        wait_boots(ec2, iid, 1)
        ec2.reboot_instances(InstanceIds=[iid])  # passed through: the guest boots again
        wait_boots(ec2, iid, 2)

        ec2.terminate_instances(InstanceIds=[iid])
        wait_for_state(ec2, [iid], "terminated", timeout=120)
        assert remote_instances_on(target_ec2, [iid]) == []
    finally:
        source.stop()
