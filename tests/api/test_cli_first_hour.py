"""A newcomer's first hour with `overcast` (the real command as a subprocess, HOME and the XDG
directories inside tmp_path): commands find the running cloud without --data-dir, read-only
commands create nothing, ordinary mistakes get a one-line error instead of a traceback, the
admin secret is printed once, and `status` shows capacity with the allocation ratios."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import RunningCloud, cloud_env, free_port, start_cloud, wait_for_state

READ_ONLY = [["credentials", "--format", "env"], ["status"], ["project", "list"],
             ["image", "list"], ["instance-type", "list"], ["user", "list"], ["burst", "list"],
             ["host", "list"]]


def overcast(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """The command as a user types it: no --data-dir unless `args` has one."""
    return subprocess.run([sys.executable, "-m", "overcast.cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def wait_for_log(cloud: RunningCloud, text: str, start: int = 0) -> str:
    """The log written since `start`, once it holds `text`."""
    assert cloud.log_path is not None
    deadline = time.monotonic() + 30
    while True:
        written = cloud.log_path.read_text()[start:]
        if text in written:
            return written
        assert time.monotonic() < deadline, f"{text!r} never logged:\n{written}"
        time.sleep(0.05)


def test_commands_find_the_running_cloud_without_data_dir(tmp_path: Path) -> None:
    cloud = start_cloud(tmp_path)
    try:
        found = overcast(cloud.env, "credentials", "--format", "env")
        assert found.returncode == 0, found.stderr
        assert f"AWS_ACCESS_KEY_ID={cloud.credentials['AWS_ACCESS_KEY_ID']}" in found.stdout
        assert f"AWS_ENDPOINT_URL_EC2={cloud.endpoint}" in found.stdout
        status = overcast(cloud.env, "status")
        assert status.returncode == 0 and f"cloud: up ({cloud.endpoint})" in status.stdout
        made = overcast(cloud.env, "project", "create", "found-it")
        assert made.returncode == 0, made.stderr
        assert "found-it" in cloud.overcast("project", "list").stdout
    finally:
        cloud.stop()
    gone = overcast(cloud.env, "credentials", "--format", "env")
    assert gone.returncode == 1 and "Traceback" not in gone.stderr
    assert "no cloud" in gone.stderr and "overcast up" in gone.stderr
    assert not (tmp_path / ".local" / "share" / "overcast").exists()


def test_a_killed_cloud_is_not_taken_for_a_running_one(tmp_path: Path) -> None:
    cloud = start_cloud(tmp_path)
    assert cloud.process is not None
    cloud.process.kill()  # no clean stop: its pointer stays behind, naming a dead process
    cloud.process.wait(timeout=30)
    done = overcast(cloud.env, "credentials", "--format", "env")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "no cloud" in done.stderr and str(cloud.data_dir) in done.stderr  # a hint
    change = overcast(cloud.env, "project", "create", "nowhere")
    assert change.returncode == 1 and "no cloud found" in change.stderr
    assert not (tmp_path / ".local" / "share" / "overcast").exists()
    unreachable = {**cloud.env,
                   "OVERCAST_DATABASE_URL": "postgresql://overcast:hunter2@127.0.0.1:1/nowhere"}
    status = overcast(unreachable, "status", "--data-dir", str(cloud.data_dir))
    assert status.returncode == 1 and "Traceback" not in status.stderr
    assert "error: cannot connect to the database postgresql://overcast:***@127.0.0.1:1/" \
        "nowhere" in status.stderr and "hunter2" not in status.stderr


@pytest.mark.parametrize("argv", READ_ONLY, ids=lambda argv: argv[0])
def test_read_only_commands_create_nothing(tmp_path: Path, argv: list[str]) -> None:
    env = cloud_env(tmp_path)
    before = tree(tmp_path)
    implicit = overcast(env, *argv)
    assert implicit.returncode == 1 and "Traceback" not in implicit.stderr
    assert "no cloud" in implicit.stderr and "overcast up" in implicit.stderr
    typo = tmp_path / "typo"
    explicit = overcast(env, *argv, "--data-dir", str(typo))
    assert explicit.returncode == 1 and "Traceback" not in explicit.stderr
    assert (f"no cloud in {typo}: no such directory; start one with overcast up --data-dir "
            f"{typo}") in explicit.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    before.add("empty")
    in_empty = overcast(env, *argv, "--data-dir", str(empty))
    assert in_empty.returncode == 1 and f"no cloud in {empty}" in in_empty.stderr
    assert tree(tmp_path) == before


@pytest.mark.parametrize("listen, message", [("notaport", "not HOST:PORT"),
                                             ("127.0.0.1:99999", "port 99999 is out of range")])
def test_up_refuses_a_bad_listen_address(tmp_path: Path, listen: str, message: str) -> None:
    data = tmp_path / "data"
    done = overcast(cloud_env(tmp_path), "up", "--data-dir", str(data), "--listen", listen)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("usage: overcast up") and message in done.stderr
    assert not data.exists()


def test_up_refuses_a_port_in_use_before_making_anything(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        address = f"127.0.0.1:{busy.getsockname()[1]}"
        done = overcast(cloud_env(tmp_path), "up", "--data-dir", str(data), "--listen", address)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"cannot listen on {address}" in done.stderr and "--listen" in done.stderr
    assert not data.exists()


def test_up_refuses_a_data_dir_it_cannot_make(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    data = blocker / "data"
    done = overcast(cloud_env(tmp_path), "up", "--data-dir", str(data),
                    "--listen", f"127.0.0.1:{free_port()}")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"error: cannot use the data dir {data}: Not a directory" in done.stderr


def test_up_refuses_a_database_it_cannot_reach(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**cloud_env(tmp_path),
           "OVERCAST_DATABASE_URL": "postgresql://overcast:hunter2@127.0.0.1:1/nowhere"}
    done = overcast(env, "up", "--data-dir", str(data), "--listen", f"127.0.0.1:{free_port()}")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "cannot connect to the database postgresql://overcast:***@127.0.0.1:1/nowhere" in \
        done.stderr
    assert "hunter2" not in done.stderr
    assert not data.exists()


@pytest.mark.parametrize("setting, value, message", [
    ("OVERCAST_DRIVER", "bogus", "unknown driver 'bogus'"),
    ("OVERCAST_FAKE_VCPUS", "many", "OVERCAST_FAKE_VCPUS in the environment is not a whole "
     "number: 'many'"),
    ("OVERCAST_METADATA_LISTEN", "nowhere", "OVERCAST_METADATA_LISTEN: not HOST:PORT"),
])
def test_up_refuses_bad_settings_before_making_anything(tmp_path: Path, setting: str,
                                                        value: str, message: str) -> None:
    data = tmp_path / "data"
    env = {**cloud_env(tmp_path), setting: value}
    done = overcast(env, "up", "--data-dir", str(data), "--listen", f"127.0.0.1:{free_port()}")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"error: {message}" in done.stderr
    assert not data.exists()


def test_a_config_file_that_is_not_toml_is_named(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "overcast.toml").write_text("listen = \n")
    done = overcast(cloud_env(tmp_path), "status", "--data-dir", str(data))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"error: {data / 'overcast.toml'} is not valid TOML" in done.stderr


@pytest.mark.parametrize("argv, usage, unknown", [
    (["credentials", "--fromat", "env"], "usage: overcast credentials", "--fromat env"),
    (["project", "list", "--long"], "usage: overcast project list", "--long"),
])
def test_a_misspelt_flag_gets_the_subcommands_usage(tmp_path: Path, argv: list[str],
                                                    usage: str, unknown: str) -> None:
    done = overcast(cloud_env(tmp_path), *argv)
    assert done.returncode == 2 and done.stderr.startswith(usage)
    assert f"error: unrecognized arguments: {unknown}" in done.stderr


def _keystone_login(cloud: RunningCloud, user: str, password: str) -> None:
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": password}}}}}
    answer = requests.post(f"{cloud.endpoint}/identity/v3/auth/tokens", json=auth, timeout=30)
    assert answer.status_code == 201, answer.text


def test_the_secret_is_printed_once_and_status_shows_the_ratios(tmp_path: Path) -> None:
    cloud = start_cloud(tmp_path, fake_vcpus=2, fake_memory_mib=4096, fake_disk_gib=100)
    secret = cloud.credentials["AWS_SECRET_ACCESS_KEY"]
    try:
        first = wait_for_log(cloud, "Overcast is up")
        assert secret in first
        password = re.search(r"admin password: +(\S+)", first)
        assert password, first  # the dashboard's and Keystone's first login, shown once
        _keystone_login(cloud, "admin", password.group(1))
        ec2 = cloud.client()
        image = ec2.describe_images()["Images"][0]["ImageId"]
        ids = [i["InstanceId"] for i in ec2.run_instances(
            ImageId=image, InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"]]
        wait_for_state(ec2, ids, "running")
        status = " ".join(cloud.overcast("status").stdout.split())
        assert "vCPUs 2 of 8 (2 × 4.0)" in status
        assert "memory 1024 of 4096 MiB (4096 × 1.0)" in status
        assert "disk 8 of 100 GiB (100 × 1.0)" in status
        assert "up, user networking" in status
    finally:
        cloud.stop()
    assert cloud.log_path is not None
    offset = len(cloud.log_path.read_text())
    cloud.start()
    try:
        later = wait_for_log(cloud, "Overcast is up", offset)
        later = wait_for_log(cloud, "overcast credentials", offset)
        assert secret not in later and password.group(1) not in later
        assert re.search(r"listening on http://127\.0\.0\.1:\d+", later)
    finally:
        cloud.stop()
