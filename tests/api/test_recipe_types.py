"""The AWS instance-type names recipes use (current and previous generations) launch."""

from __future__ import annotations

import pytest

from tests.conftest import wait_for_state

RECIPE_TYPES = ["t1.micro", "m1.small", "t2.xlarge", "t3a.micro", "m5.large", "c5.large",
                "r5.large", "m3.medium", "c4.large"]


def test_recipe_types_are_described(ec2) -> None:
    found = {t["InstanceType"]: t for t in ec2.describe_instance_types(
        InstanceTypes=RECIPE_TYPES)["InstanceTypes"]}
    assert set(found) == set(RECIPE_TYPES)
    assert found["t1.micro"]["VCpuInfo"]["DefaultVCpus"] == 1
    assert found["t1.micro"]["MemoryInfo"]["SizeInMiB"] == 613
    families = {t["InstanceType"].split(".")[0] for p in
                ec2.get_paginator("describe_instance_types").paginate() for t in p["InstanceTypes"]}
    assert {"t2", "t3", "t3a", "m5", "c5", "r5", "t1", "m1"} <= families


@pytest.mark.parametrize("instance_type", ["t1.micro", "m1.small", "t3a.small"])
def test_previous_generation_and_t3a_launch(ec2, image_id: str,
                                            instance_type: str) -> None:
    made = ec2.run_instances(ImageId=image_id, InstanceType=instance_type, MinCount=1,
                             MaxCount=1)["Instances"][0]
    running = wait_for_state(ec2, [made["InstanceId"]], "running")[0]
    assert running["InstanceType"] == instance_type
    ec2.terminate_instances(InstanceIds=[made["InstanceId"]])
