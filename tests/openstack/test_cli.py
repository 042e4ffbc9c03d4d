"""The `openstack` command (python-openstackclient) as a subprocess, through the flow a user
follows: clouds.yaml from `overcast credentials`, images, flavors, key pairs, a security
rule, a server with --wait, console, stop/start/reboot, delete, an image upload."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.openstack.conftest import OsCloud


def _status(osc: OsCloud, name: str) -> str:
    return osc.cli("server", "show", name, "-c", "status", "-f", "value").stdout.strip()


def _wait(osc: OsCloud, name: str, status: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while _status(osc, name) != status:
        assert time.monotonic() < deadline, f"{name} never became {status}"
        time.sleep(0.2)


def test_openstack_cli_flow(osc: OsCloud, tmp_path: Path) -> None:
    images = osc.cli_json("image", "list")
    assert "overcast-testimage" in {i["Name"] for i in images}
    assert "m1.tiny" in {f["Name"] for f in osc.cli_json("flavor", "list")}
    key = osc.cli("keypair", "create", "k2").stdout
    assert "PRIVATE KEY" in key
    osc.cli("security", "group", "rule", "create", "default", "--protocol", "tcp",
            "--dst-port", "22")
    server = osc.cli_json("server", "create", "--image", "overcast-testimage", "--flavor",
                          "m1.tiny", "--key-name", "k2", "--network", "default", "--wait",
                          "vm1")
    assert server["status"] == "ACTIVE" and server["key_name"] == "k2"
    ec2 = osc.cloud.client()
    reservations = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["vm1"]}])
    instance = reservations["Reservations"][0]["Instances"][0]
    assert instance["KeyName"] == "k2"
    assert {g["GroupName"] for g in instance["SecurityGroups"]} == {"default"}
    assert "booted" in osc.cli("console", "log", "show", "vm1").stdout
    osc.cli("server", "stop", "vm1")
    _wait(osc, "vm1", "SHUTOFF")
    osc.cli("server", "start", "vm1")
    _wait(osc, "vm1", "ACTIVE")
    osc.cli("server", "reboot", "vm1")
    _wait(osc, "vm1", "ACTIVE")
    listed = osc.cli_json("server", "list")
    assert [s["Name"] for s in listed if s["ID"] == server["id"]] == ["vm1"]
    osc.cli("server", "delete", "--wait", "vm1")
    assert osc.cli("server", "show", "vm1", check=False).returncode != 0

    disk = tmp_path / "my.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "8M"], check=True)
    made = osc.cli_json("image", "create", "--disk-format", "qcow2", "--container-format",
                        "bare", "--file", str(disk), "my-image")
    assert made["status"] == "active" and made["size"] == disk.stat().st_size
    osc.cli("image", "delete", "my-image")


def test_openrc_works_for_the_cli(osc: OsCloud) -> None:
    text = osc.cloud.overcast("credentials", "--format", "openrc").stdout
    values = dict(line.removeprefix("export ").split("=", 1) for line in text.splitlines())
    env = {**osc.cloud.env, "HOME": str(osc.home), **values}
    env.pop("OS_CLOUD", None)
    result = subprocess.run([osc.openstack_binary, "token", "issue", "-f", "value",
                             "-c", "project_id"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) == 32
