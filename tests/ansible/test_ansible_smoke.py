"""Ansible's amazon.aws modules against a running Overcast (fake driver).

smoke.yml creates a key pair, a security group and two instances with ec2_instance, looks
them up and terminates them; this test runs it with `ansible-playbook` and then checks with
boto3 what the playbook left behind.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.conftest import RunningCloud

PLAYBOOK = Path(__file__).with_name("smoke.yml")
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
PREFIX = "ansible-smoke"


@pytest.fixture(scope="module")
def creds(cloud: RunningCloud) -> dict[str, str]:
    cloud.overcast("project", "create", "ansible-smoke")
    return cloud.project_credentials("ansible-smoke")


def _ansible_env(cloud: RunningCloud, creds: dict[str, str], tmp: Path) -> dict[str, str]:
    return {
        **cloud.env, **creds,
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "ANSIBLE_LOCAL_TEMP": str(tmp / "local"),
        "ANSIBLE_REMOTE_TMP": str(tmp / "remote"),
        "ANSIBLE_HOME": str(tmp / "home"),
    }


def _run_playbook(cloud: RunningCloud, creds: dict[str, str], tmp: Path,
                  image_id: str) -> dict:
    assert ANSIBLE_PLAYBOOK.exists(), "ansible is missing: pip install -e '.[test]'"
    try:
        result = subprocess.run(
            [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", str(PLAYBOOK),
             "-e", f"image_id={image_id}", "-e", f"prefix={PREFIX}"],
            env=_ansible_env(cloud, creds, tmp), cwd=tmp, capture_output=True, text=True,
            timeout=600)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"ansible-playbook still running after {exc.timeout}s:\n"
                             f"{exc.stdout!r:.4000}\n{exc.stderr!r:.4000}") from None
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        report = None
    failed = [(t["task"]["name"], t["hosts"]["localhost"].get("msg"))
              for play in (report or {}).get("plays", []) for t in play["tasks"]
              if t["hosts"].get("localhost", {}).get("failed")]
    assert result.returncode == 0 and report, (
        f"ansible-playbook exited {result.returncode}; failed tasks: {failed}\n"
        f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return report


def _task_result(report: dict, name: str) -> dict:
    for play in report["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"] == name:
                return task["hosts"]["localhost"]
    raise AssertionError(f"task {name!r} did not run")


def test_playbook_creates_and_terminates(cloud: RunningCloud, creds: dict[str, str],
                                         tmp_path: Path) -> None:
    ec2 = cloud.client(creds)
    image_id = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]

    report = _run_playbook(cloud, creds, tmp_path, image_id)

    assert report["stats"]["localhost"]["failures"] == 0
    seen = _task_result(report, "Report what Ansible saw")["msg"]
    instance_ids = seen["instance_ids"]
    assert len(instance_ids) == 2

    instances = [i for r in ec2.describe_instances(InstanceIds=instance_ids)["Reservations"]
                 for i in r["Instances"]]
    assert sorted(i["InstanceId"] for i in instances) == sorted(instance_ids)
    assert {i["State"]["Name"] for i in instances} == {"terminated"}
    assert {i["KeyName"] for i in instances} == {f"{PREFIX}-key"}
    assert all([g["GroupId"] for g in i["SecurityGroups"]] == [seen["group_id"]]
               for i in instances)
    assert all({"Key": "Name", "Value": f"{PREFIX}-vm"} in i["Tags"] for i in instances)

    key = ec2.describe_key_pairs(KeyNames=[f"{PREFIX}-key"])["KeyPairs"][0]
    made_key = _task_result(report, "Create a key pair")["key"]
    assert key["KeyFingerprint"] == made_key["fingerprint"]
    assert key["KeyPairId"] == made_key["id"]

    group = ec2.describe_security_groups(GroupIds=[seen["group_id"]])["SecurityGroups"][0]
    assert (group["GroupName"], group["Description"]) == (f"{PREFIX}-sg", "Ansible smoke test")
    ingress = sorted((p["IpProtocol"], p["FromPort"], p["ToPort"],
                      [r["CidrIp"] for r in p["IpRanges"]]) for p in group["IpPermissions"])
    assert ingress == [("tcp", 22, 22, ["0.0.0.0/0"]), ("tcp", 80, 80, ["10.0.0.0/8"])]

    ec2.delete_security_group(GroupId=seen["group_id"])
    ec2.delete_key_pair(KeyName=f"{PREFIX}-key")


def test_sts_caller_identity_on_the_ec2_endpoint(cloud: RunningCloud,
                                                 creds: dict[str, str]) -> None:
    """Tools that point every AWS client at one URL ask STS who they are (ec2_security_group
    does, for the account ID); a bad signature is refused in STS's error format."""
    def client(service: str):
        return boto3.client(
            service, endpoint_url=cloud.endpoint, region_name=creds["AWS_DEFAULT_REGION"],
            aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"])

    me = client("sts").get_caller_identity()
    owner = cloud.client(creds).describe_security_groups(
        GroupNames=["default"])["SecurityGroups"][0]["OwnerId"]
    assert me["Account"] == owner
    assert me["Arn"].startswith(f"arn:aws:iam::{owner}:user/")

    wrong = boto3.client(
        "sts", endpoint_url=cloud.endpoint, region_name=creds["AWS_DEFAULT_REGION"],
        aws_access_key_id=creds["AWS_ACCESS_KEY_ID"], aws_secret_access_key="not-the-secret")
    with pytest.raises(ClientError) as exc:
        wrong.get_caller_identity()
    assert exc.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def _post_signed(cloud: RunningCloud, creds: dict[str, str], service: str,
                 body: str) -> tuple[int, str]:
    request = AWSRequest(method="POST", url=cloud.endpoint + "/", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    SigV4Auth(Credentials(creds["AWS_ACCESS_KEY_ID"], creds["AWS_SECRET_ACCESS_KEY"]),
              service, creds["AWS_DEFAULT_REGION"]).add_auth(request)
    prepared = request.prepare()
    sent = urllib.request.Request(prepared.url, data=body.encode(), method="POST",
                                  headers=dict(prepared.headers.items()))
    try:
        with urllib.request.urlopen(sent, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_signature_scope_must_match_the_action(cloud: RunningCloud,
                                               creds: dict[str, str]) -> None:
    sts_call = "Action=GetCallerIdentity&Version=2011-06-15"
    ec2_call = "Action=DescribeKeyPairs&Version=2016-11-15"
    assert _post_signed(cloud, creds, "sts", sts_call)[0] == 200
    assert _post_signed(cloud, creds, "ec2", ec2_call)[0] == 200
    status, body = _post_signed(cloud, creds, "ec2", sts_call)
    assert status == 403 and "<ErrorResponse" in body and "scoped to correct service: 'sts'" in body
    status, body = _post_signed(cloud, creds, "sts", ec2_call)
    assert status == 403 and "<Response><Errors>" in body and "service: 'ec2'" in body
