"""The README flow with the `aws` CLI as a subprocess, the `overcast` CLI, and restarts."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import start_cloud, wait_for_state


def test_readme_flow_with_awscli(cloud, tmp_path) -> None:
    assert cloud.aws_json("describe-regions")["Regions"]
    assert cloud.aws_json("describe-availability-zones")["AvailabilityZones"]
    assert cloud.aws_json("describe-instance-types")["InstanceTypes"]
    material = cloud.aws("create-key-pair", "--key-name", "cli-k1", "--query", "KeyMaterial",
                         "--output", "text").stdout
    assert material.startswith("-----BEGIN RSA PRIVATE KEY-----")
    image = cloud.aws_json("describe-images")["Images"][0]["ImageId"]
    script = tmp_path / "u.sh"
    script.write_text("#!/bin/sh\necho hello\n")
    made = cloud.aws_json("run-instances", "--image-id", image, "--instance-type", "t3.micro",
                          "--key-name", "cli-k1", "--count", "3", "--tag-specifications",
                          "ResourceType=instance,Tags=[{Key=env,Value=cli}]",
                          "--user-data", f"file://{script}")
    ids = [i["InstanceId"] for i in made["Instances"]]
    assert len(ids) == 3
    deadline = time.monotonic() + 30
    while True:
        found = cloud.aws_json("describe-instances", "--filters", "Name=tag:env,Values=cli",
                               "Name=instance-state-name,Values=running")
        running = [i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]]
        if sorted(running) == sorted(ids) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert sorted(running) == sorted(ids)
    for verb in ("stop-instances", "start-instances", "reboot-instances",
                 "terminate-instances"):
        cloud.aws(verb, "--instance-ids", *ids)
    failed = cloud.aws("stop-instances", "--instance-ids", ids[0], check=False)
    assert failed.returncode != 0 and "IncorrectInstanceState" in failed.stderr


def test_credentials_formats(cloud) -> None:
    env = cloud.overcast("credentials", "--format", "env").stdout
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
                 "AWS_ENDPOINT_URL_EC2"):
        assert f"export {name}=" in env
    assert cloud.endpoint in env
    config = cloud.overcast("credentials", "--format", "aws-config").stdout
    assert "aws_access_key_id = AKIA" in config and f"endpoint_url = {cloud.endpoint}" in config


def test_access_key_create_gives_a_working_second_key(cloud) -> None:
    cloud.overcast("project", "create", "keyed")
    out = cloud.overcast("access-key", "create", "--project", "keyed").stdout
    fields = dict(line.split(":", 1) for line in out.splitlines() if line.startswith(
        ("AccessKeyId", "SecretAccessKey")))
    creds = {**cloud.credentials, "AWS_ACCESS_KEY_ID": fields["AccessKeyId"].strip(),
             "AWS_SECRET_ACCESS_KEY": fields["SecretAccessKey"].strip()}
    assert cloud.client(creds).describe_instances()["Reservations"] == []
    again = cloud.overcast("project", "create", "keyed", check=False)
    assert again.returncode != 0 and "already exists" in again.stderr


def test_instance_type_create(cloud) -> None:
    cloud.overcast("instance-type", "create", "x1.tiny", "--vcpus", "1", "--memory-mib", "256")
    found = cloud.aws_json("describe-instance-types", "--instance-types", "x1.tiny")
    assert found["InstanceTypes"][0]["MemoryInfo"]["SizeInMiB"] == 256
    bad = cloud.overcast("instance-type", "create", "bad name", "--vcpus", "1",
                         "--memory-mib", "256", check=False)
    assert bad.returncode != 0
    made = cloud.overcast("instance-type", "create", "hv1.tiny", "--vcpus", "1",
                          "--memory-mib", "256", "--driver", "hyperv").stdout
    assert "hyperv hosts only" in made
    rows = {line.split()[0]: line.split()[-1]
            for line in cloud.overcast("instance-type", "list").stdout.splitlines()[1:]}
    assert rows["hv1.tiny"] == "hyperv" and rows["x1.tiny"] == "any"
    # this cloud has no Hyper-V host: the type exists, but nothing can run it
    image = cloud.aws_json("describe-images", "--owners", "amazon")["Images"][0]["ImageId"]
    refused = cloud.aws("run-instances", "--image-id", image, "--instance-type", "hv1.tiny",
                        check=False)
    assert refused.returncode != 0 and "InsufficientInstanceCapacity" in refused.stderr


@pytest.mark.parametrize("signal_name", ["SIGTERM"])
def test_restart_keeps_everything_and_does_not_bootstrap_again(tmp_path, signal_name) -> None:
    first = start_cloud(tmp_path)
    ec2 = first.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ids = [i["InstanceId"] for i in ec2.run_instances(ImageId=image, MinCount=2,
                                                      MaxCount=2)["Instances"]]
    wait_for_state(ec2, ids, "running")
    ec2.stop_instances(InstanceIds=ids[:1])
    wait_for_state(ec2, ids[:1], "stopped")
    assert first.stop() == 0
    assert "Overcast stopped." in first.log_path.read_text()
    down = first.overcast("status", check=False)
    assert down.returncode == 1 and "down" in down.stdout
    first.start()
    assert first.credentials["AWS_ACCESS_KEY_ID"] == ec2._request_signer._credentials.access_key
    ec2 = first.client()
    states = {i["InstanceId"]: i["State"]["Name"]
              for r in ec2.describe_instances(InstanceIds=ids)["Reservations"]
              for i in r["Instances"]}
    assert states == {ids[0]: "stopped", ids[1]: "running"}
    assert len(ec2.describe_images()["Images"]) == 1
    projects = first.overcast("project", "list").stdout.splitlines()
    assert sum(1 for line in projects if line.startswith("admin ")) == 1
    assert json.loads((first.data_dir / "run.json").read_text())["listen"].endswith(
        str(first.port))
    ec2.start_instances(InstanceIds=ids[:1])
    wait_for_state(ec2, ids, "running")
    first.stop()
