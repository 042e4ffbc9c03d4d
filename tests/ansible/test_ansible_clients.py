"""clients.yml: ec2_vpc_net_info, ec2_launch_template and ec2_instance with a launch template
(issue 16) against a running Overcast, then what the playbook left checked with boto3."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.ansible.test_ansible_smoke import ANSIBLE_PLAYBOOK, _ansible_env, _task_result
from tests.conftest import RunningCloud

PLAYBOOK = Path(__file__).with_name("clients.yml")
PREFIX = "ansible-clients"


@pytest.fixture(scope="module")
def creds(cloud: RunningCloud) -> dict[str, str]:
    cloud.overcast("project", "create", PREFIX)
    return cloud.project_credentials(PREFIX)


def test_vpc_facts_launch_template_and_instance(cloud: RunningCloud, creds: dict[str, str],
                                                tmp_path: Path) -> None:
    ec2 = cloud.client(creds)
    image_id = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    result = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", str(PLAYBOOK), "-e", f"image_id={image_id}",
         "-e", f"prefix={PREFIX}"],
        env=_ansible_env(cloud, creds, tmp_path), cwd=tmp_path, capture_output=True,
        text=True, timeout=600)
    report = json.loads(result.stdout) if result.stdout.startswith("{") else {}
    failed = [(t["task"]["name"], t["hosts"]["localhost"].get("msg"))
              for play in report.get("plays", []) for t in play["tasks"]
              if t["hosts"].get("localhost", {}).get("failed")]
    assert result.returncode == 0, (f"failed tasks: {failed}\n{result.stdout[-3000:]}\n"
                                    f"{result.stderr[-3000:]}")

    seen = _task_result(report, "Report what Ansible saw")["msg"]
    assert [int(v) for v in seen["versions"]] == [1, 2]
    assert int(seen["default_version"]) == 2
    assert seen["instance_type"] == "t3.small"  # from the template's default version 2
    [instance_id] = seen["instance_ids"]
    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0][
        "Instances"][0]
    assert instance["State"]["Name"] == "terminated"
    assert instance["MetadataOptions"]["HttpTokens"] == "required"
    assert {"Key": "Name", "Value": f"{PREFIX}-vm"} in instance["Tags"]
    assert ec2.describe_launch_templates()["LaunchTemplates"] == []
