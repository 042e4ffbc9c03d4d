"""Run Tempest's compute, image and volume API tests against a fresh Overcast (fake driver).

    tests/openstack/run_tempest.sh [--regex REGEX]   (installs Tempest, runs this)

Starts `overcast up` with the fake driver in a temporary data dir, makes a Tempest workspace
(`tempest init`, then tests.openstack.tempest_setup: static accounts of six projects with a
member and a reader each, tempest.conf with what Overcast does not claim switched off), runs
the required tests with `tempest run`, prints every skip with Tempest's reason, every failure,
and a closing 'tempest: N passed, N failed, N skipped' line. Exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import start_cloud  # noqa: E402

# The tests issue 5 asks for: servers (create, list filters, delete, metadata), flavors,
# keypairs, limits, versions, and all of image v2; issue 14's Cinder v3 subset (volumes,
# snapshots, their metadata and lists, extend, zones, limits, versions, quota sets) and Nova's
# volume attachments; issue 16's pause and suspend actions.
REQUIRED = (r"^tempest\.api\.(compute\.(servers\.(test_create_server|test_list_server_filters"
            r"|test_delete_server|test_server_metadata)|flavors|keypairs|limits|test_versions"
            r"|volumes\.(test_attach_volume|test_attach_volume_negative))"
            r"|image\.v2"
            r"|volume\.(test_availability_zone|test_extensions|test_versions"
            r"|test_volume_absolute_limits|test_volume_metadata|test_snapshot_metadata"
            r"|test_volumes_get|test_volumes_list|test_volumes_negative|test_volumes_snapshots"
            r"|test_volumes_snapshots_list|test_volumes_snapshots_negative|test_volumes_extend"
            r"|admin\.test_volume_quotas))\."
            r"|^tempest\.api\.compute\.servers\.(test_server_actions\.ServerActionsTestJSON\."
            r"test_(pause_unpause|suspend_resume)_server|test_servers_negative\."
            r"ServersNegativeTestJSON\.test_(pause|unpause|suspend|resume)_)")
# Left out of the Cinder subset, and why. Not in REQUIRED at all: backups, clones, transfers,
# cascade delete, volume types' create/update/access and extra specs (the types are the fixed
# EBS ones), QoS, groups, services, hosts, pools, manage/unmanage, retype, user messages, the
# admin volume actions (reset-status, force-delete, force-detach), quota classes, encrypted
# volumes and volume image metadata; Cinder's own attach bookkeeping and other volume actions
# (test_volumes_actions: os-attach, os-reserve, bootable, read-only, upload to an image):
# Overcast offers none of them.
EXCLUDED = "|".join((
    # volumes made from images (Cinder's imageRef) and boot from volume are not offered
    r"test_volume_create_get_update_delete_from_image",
    r"VolumesExtendTest\.test_volume_extend\[",
    r"test_snapshot_create_delete_with_volume_in_use",
    r"ServersTestBootFromVolume",
    # Cinder's own attach bookkeeping (os-reserve, os-attach...) on a real volume: attaching is
    # Nova's call here; the same actions on a missing volume answer 404 and are run
    r"test_reserve_volume_with_negative_volume_status",
    # quotas for snapshots and backups are not kept (only volumes and gigabytes are)
    r"test_update_all_quota_resources_for_tenant",
    r"test_quota_usage_after_volume_transfer",  # volume transfers
))

# Run by the Tempest venv's python on `stestr last --subunit`: one JSON line per test.
SUBUNIT_READER = """
import json, sys
import subunit, testtools
def emit(test):
    details = test["details"]
    text = ""
    for key in ("reason", "traceback"):
        if key in details:
            text = details[key].as_text()
            break
    print(json.dumps({"id": test["id"].split("[")[0], "status": test["status"], "why": text}))
stream = subunit.ByteStreamToStreamResult(sys.stdin.buffer, non_subunit_name="stdout")
result = testtools.StreamToDict(emit)
result.startTestRun()
stream.run(result)
result.stopTestRun()
"""
OUTCOMES = {"success": "passed", "skip": "skipped", "xfail": "passed"}


def _bin(venv: Path, name: str) -> str:
    return str(venv / "bin" / name)


def prepare(venv: Path, cloud_env: dict[str, str], data_dir: Path, endpoint: str,
            workspace: Path) -> None:
    subprocess.run([_bin(venv, "tempest"), "init", str(workspace)], env=cloud_env, check=True,
                   capture_output=True)
    subprocess.run([sys.executable, "-m", "tests.openstack.tempest_setup", "--data-dir",
                    str(data_dir), "--endpoint", endpoint, "--workspace", str(workspace)],
                   env={**cloud_env, "PYTHONPATH": str(ROOT)}, cwd=ROOT, check=True)


def results(venv: Path, workspace: Path, env: dict[str, str]) -> list[dict]:
    stream = subprocess.run([_bin(venv, "stestr"), "last", "--subunit"], cwd=workspace,
                            env=env, capture_output=True, check=True).stdout
    out = subprocess.run([_bin(venv, "python"), "-c", SUBUNIT_READER], input=stream,
                         capture_output=True, check=True).stdout
    tests = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    return tests


def _why(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def report(tests: list[dict]) -> Counter:
    counts = Counter(OUTCOMES.get(t["status"], "failed") for t in tests)
    for outcome in ("skipped", "failed"):
        for test in sorted(tests, key=lambda t: t["id"]):
            if OUTCOMES.get(test["status"], "failed") == outcome:
                print(f"{outcome:<8} {test['id']}  {_why(test['why'])}")
    print(f"tempest: {counts['passed']} passed, {counts['failed']} failed, "
          f"{counts['skipped']} skipped")
    return counts


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--venv", required=True, type=Path, help="Tempest's virtualenv")
    parser.add_argument("--regex", default=REQUIRED, help="tests to run (default: issue 5's)")
    parser.add_argument("--concurrency", default="2")
    args = parser.parse_args()
    venv = args.venv.absolute()  # not resolved: a venv's python is a symlink
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="overcast-tempest-") as tmp:
        work = Path(tmp)
        cloud = start_cloud(work, fake_boot_delay=0.05, default_max_instances=50)
        try:
            workspace = work / "workspace"
            env = {**cloud.env, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
            prepare(venv, env, cloud.data_dir, cloud.endpoint, workspace)
            print(f"cloud and tempest workspace ready after {time.monotonic() - started:.0f} s",
                  flush=True)
            subprocess.run([_bin(venv, "tempest"), "run", "--concurrency", args.concurrency,
                            "--regex", args.regex, "--exclude-regex", EXCLUDED],
                           cwd=workspace, env=env, check=False)
            print(f"tempest run done after {time.monotonic() - started:.0f} s", flush=True)
            tests = results(venv, workspace, env)
        finally:
            cloud.stop()
    counts = report(tests)
    return 0 if counts["failed"] == 0 and counts["passed"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
