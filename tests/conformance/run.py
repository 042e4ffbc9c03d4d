"""Run ec2api-tempest-plugin's api and scenario tests against a fresh Overcast (fake driver).

    tests/conformance/run.sh [--all] [pytest args...]   (installs the plugin, runs this)

Starts `overcast up` with the fake driver, creates a `tempest` project, imports a small qcow2
into the image store as a public image (the plugin's ami_image_location: RegisterImage from
the store), writes functional_tests.conf, runs the plugin with pytest in its own virtualenv and
prints the pass/fail/skip counts, the failures by test and a closing 'N passed, N failed' line.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import RunningCloud, start_cloud  # noqa: E402

# The tests of features Overcast has (the foundation and issue 3): images, key pairs, regions
# and zones, instances and their attributes, security groups and the default VPC, paging and
# tags, images of instances, a subnet running out of addresses, Elastic IPs. Volumes, snapshots,
# attaching interfaces, gateways, routes and VPN come with later issues; `--all`
# runs those.
RELEVANT = " or ".join([
    # an image's root disk is not an EBS snapshot here (root volumes are not volumes yet)
    "(ImageTest and not ebs_image_volume_properties)",
    "ImageRegisterTest", "KeyPairTest", "RegionTest", "InstanceTest",
    "(InstanceAttributeTest and not multiple_interfaces)",  # AttachNetworkInterface
    "SecurityGroupEC2ClassicTest", "InstanceRestartTest", "InstancesTest",
    "InstancePagingTest", "TagsPagingTest and invalid_max_results",
    "VPCTest", "SubnetTest", "SecurityGroupInVPCTest",
    "InstanceInVPCTest",
    # interfaces: only subnets running out of addresses and DeleteSubnet while one is there
    # (Attach/Detach and private-address actions come with issue 12)
    "(NetworkInterfaceTest and (create_max_network_interface or delete_subnet_with))",
    "VolumeTest", "SnapshotTest",  # EBS volumes and snapshots (issue 14)
    # block-device mappings at launch (issue 14); not yet: a root volume that outlives its
    # instance or can be snapshotted (root volumes are a view of the instance's disk)
    "(EC2_EBSInstanceTuneBDM and not persistent_root_device)",
    "(InstanceWithEBSTest and not root_volume_snapshot)", "EC2_EBSInstanceAttaching",
    "(AddressTest and not VpcAddressTest)",  # Elastic IPs (the scenario needs a gateway)
    "InternetGatewayTest", "RouteTest",  # gateways and route tables (issue 12's control plane)
])
# Tests of features Overcast has that fail for a known reason, kept out of the default run
# (and so out of scripts/test) until fixed; FAILURES.md says why. `--all` runs them.
KNOWN_FAILURES: tuple[str, ...] = (
    # RunInstances takes one interface, made with the instance: no NetworkInterfaces yet
    "test_create_instance_with_invalid_params", "test_create_instance_with_two_interfaces",
)
SELECTION = f"({RELEVANT}) and not ({' or '.join(KNOWN_FAILURES)})" if KNOWN_FAILURES \
    else RELEVANT

CONF_TEMPLATE = """[aws]
ec2_url = {endpoint}/
s3_url = {endpoint}/s3-not-provided/
aws_access = {access}
aws_secret = {secret}
aws_region = {region}
aws_zone = {zone}
build_timeout = 60
build_interval = 1
instance_type = t3.micro
instance_type_alt = t3.small
image_id = {image_id}
ebs_image_id = {image_id}
ami_image_location = {ami_location}
image_user = root
run_ssh = False
run_long_tests = False
run_incompatible_tests = False

[service_available]
ec2api = True
"""


def prepare(cloud: RunningCloud, work: Path) -> Path:
    cloud.overcast("project", "create", "tempest")
    creds = cloud.project_credentials("tempest")
    disk = work / "conformance.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "64M"], check=True)
    out = cloud.overcast("image", "import", str(disk), "--name", "conformance-disk",
                         "--public", "--quiet").stdout
    store_name = out.split("stored as ", 1)[1].split()[0]
    admin = cloud.client()
    image = admin.describe_images(Owners=["amazon"], Filters=[
        {"Name": "name", "Values": ["overcast-testimage"]}])["Images"][0]["ImageId"]
    zone = admin.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
    conf_dir = work / "conf"
    conf_dir.mkdir()
    (conf_dir / "functional_tests.conf").write_text(CONF_TEMPLATE.format(
        endpoint=cloud.endpoint, access=creds["AWS_ACCESS_KEY_ID"],
        secret=creds["AWS_SECRET_ACCESS_KEY"], region=creds["AWS_DEFAULT_REGION"],
        zone=zone, image_id=image, ami_location=store_name))
    return conf_dir


def plugin_dir(python: str) -> Path:
    out = subprocess.run([python, "-c", "import ec2api_tempest_plugin as p; print(p.__file__)"],
                         check=True, capture_output=True, text=True).stdout
    return Path(out.strip()).parent


def _reason(message: str, text: str) -> str:
    """The most telling line of a failure: the last exception or mismatch in the text."""
    lines = [line.strip() for line in f"{message}\n{text}".splitlines() if line.strip()]
    telling = [line for line in lines if re.search(r"(Error|Exception|Mismatch)\b.*:", line)
               and "Incompatible Exception Representation" not in line]
    chosen = telling[-1] if telling else (lines[0] if lines else "")
    return chosen.removeprefix("E ").strip()[:300]


def outcomes(junit: Path) -> dict[str, tuple[str, str]]:
    """test id -> (outcome, first line of the reason)."""
    found: dict[str, tuple[str, str]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{case.get('classname')}.{case.get('name')}"
        outcome, reason = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = "skipped" if child.tag == "skipped" else "failed"
                reason = _reason(child.get("message") or "", child.text or "")
                break
        found[name] = (outcome, reason)
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--python", required=True, help="the plugin virtualenv's python")
    parser.add_argument("--report", type=Path, help="also write the per-test outcomes here")
    parser.add_argument("--all", action="store_true",
                        help="every api and scenario test, not only those of features Overcast "
                        "has")
    args, pytest_args = parser.parse_known_args()
    python = str(Path(args.python).absolute())  # not resolved: a venv's python is a symlink
    if not args.all and "-k" not in pytest_args:
        pytest_args = ["-k", SELECTION, *pytest_args]
        if KNOWN_FAILURES:
            print(f"known failures left out: {', '.join(KNOWN_FAILURES)} (see FAILURES.md)")
    with tempfile.TemporaryDirectory(prefix="overcast-conformance-") as tmp:
        work = Path(tmp)
        cloud = start_cloud(work, fake_boot_delay=0.05, default_max_instances=50)
        try:
            conf_dir = prepare(cloud, work)
            tests = plugin_dir(python)
            junit = work / "junit.xml"
            env = {**os.environ, "TEST_CONFIG_DIR": str(conf_dir)}
            subprocess.run([python, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                            "-o", "junit_family=xunit1", f"--junitxml={junit}",
                            "--rootdir", str(tests), "--confcutdir", str(tests), str(tests / "api"),
                            str(tests / "scenario"), *pytest_args],
                           env=env, cwd=work, check=False)
            results = outcomes(junit)
        finally:
            cloud.stop()
    counts = Counter(outcome for outcome, _ in results.values())
    lines = [f"{outcome:<8} {name}  {reason}".rstrip()
             for name, (outcome, reason) in sorted(results.items())]
    if args.report:
        args.report.write_text("\n".join(lines) + "\n")
    print("\n".join(line for line in lines if line.startswith("failed")))
    print(f"conformance: {counts['passed']} passed, {counts['failed']} failed, "
          f"{counts['skipped']} skipped")
    return 0 if counts["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
