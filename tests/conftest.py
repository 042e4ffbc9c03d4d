"""Fixtures that run a real `overcast up` in a subprocess and talk to it over HTTP, and a
cloud in the test's own process for the tests below the faces."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from prometheus_client.parser import text_string_to_metric_families

from overcast.cloud.images.images import ImageFiles
from overcast.cloud.service import Cloud
from overcast.config import load_settings
from overcast.drivers.base import HostCapacity
from overcast.identity.context import Context

ROOT = Path(__file__).resolve().parent.parent
# Set by .ci/run for the PostgreSQL pass: a server URL on which tests create databases.
PG_SERVER = os.environ.get("OVERCAST_TEST_POSTGRES")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fresh_database() -> str | None:
    if not PG_SERVER:
        return None
    import psycopg

    name = f"overcast_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, query = PG_SERVER.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


@dataclass
class RunningCloud:
    data_dir: Path
    port: int
    env: dict[str, str]
    process: subprocess.Popen | None = None
    credentials: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    up_args: tuple[str, ...] = ()  # more `overcast up` flags

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def overcast(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        argv = [sys.executable, "-m", "overcast.cli.main", *args]
        if args and args[0] not in ("up",):
            argv += ["--data-dir", str(self.data_dir)]
        result = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"overcast {shlex.join(args)} failed:\n{result.stderr}")
        return result

    def start(self) -> None:
        run_file = self.data_dir / "run.json"
        run_file.unlink(missing_ok=True)
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "overcast.cli.main", "up", "--data-dir", str(self.data_dir),
             "--listen", f"127.0.0.1:{self.port}", *self.up_args],
            env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while not run_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"overcast up did not start:\n{self.log_path.read_text()}")
            time.sleep(0.05)
        self.credentials = self.project_credentials("admin")

    def project_credentials(self, project: str) -> dict[str, str]:
        out = self.overcast("credentials", "--project", project, "--format", "env").stdout
        pairs = (line.removeprefix("export ").split("=", 1) for line in out.splitlines())
        return {k: shlex.split(v)[0] for k, v in pairs}

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def client(self, credentials: dict[str, str] | None = None, **config: object):
        creds = credentials or self.credentials
        return boto3.client(
            "ec2", endpoint_url=self.endpoint, region_name=creds["AWS_DEFAULT_REGION"],
            aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
            config=Config(retries={"max_attempts": 1}, **config))

    def aws(self, *args: str, credentials: dict[str, str] | None = None,
            check: bool = True) -> subprocess.CompletedProcess:
        env = {**self.env, **(credentials or self.credentials)}
        output = [] if "--output" in args else ["--output", "json"]
        result = subprocess.run([sys.executable, "-m", "awscli", "ec2", *args, *output],
                                env=env, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"aws ec2 {shlex.join(args)} failed:\n{result.stderr}")
        return result

    def aws_json(self, *args: str) -> dict:
        return json.loads(self.aws(*args).stdout or "{}")


def cloud_env(tmp: Path, **settings: object) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OVERCAST_"))}
    runtime_dir = tmp / "xdg-runtime"  # where a running `up` leaves its pointer
    runtime_dir.mkdir(mode=0o700, exist_ok=True)
    env.update({"OVERCAST_DRIVER": "fake", "OVERCAST_FAKE_BOOT_DELAY": "0.05",
                "OVERCAST_AGENT_INTERVAL": "0.2", "HOME": str(tmp),
                "XDG_RUNTIME_DIR": str(runtime_dir), "XDG_STATE_HOME": str(tmp / "xdg-state"),
                "OVERCAST_METADATA_LISTEN": f"127.0.0.1:{free_port()}",
                "AWS_CONFIG_FILE": str(tmp / "aws-config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "aws-credentials")})
    database = _fresh_database()
    if database:
        env["OVERCAST_DATABASE_URL"] = database
    env.update({f"OVERCAST_{k.upper()}": str(v) for k, v in settings.items()})
    return env


def start_cloud(tmp: Path, **settings: object) -> RunningCloud:
    cloud = RunningCloud(tmp / "data", free_port(), cloud_env(tmp, **settings))
    cloud.start()
    return cloud


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    running = start_cloud(tmp_path_factory.mktemp("cloud"))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def ec2(cloud: RunningCloud):
    return cloud.client()


@pytest.fixture(scope="session")
def image_id(ec2) -> str:
    return ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]


def wait_for_state(ec2, instance_ids: list[str], state: str,
                   timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        found = [i for r in ec2.describe_instances(InstanceIds=instance_ids)["Reservations"]
                 for i in r["Instances"]]
        if all(i["State"]["Name"] == state for i in found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not {state}: {[(i['InstanceId'], i['State']) for i in found]}")
        time.sleep(0.1)


def agent_ticks(cloud: RunningCloud, host: str | None = None) -> float:
    """How many ticks the cloud's agents (or one host's agent) have finished, read from
    /metrics (overcast_agent_tick_duration_seconds_count)."""
    text = requests.get(f"{cloud.endpoint}/metrics", timeout=30).text
    return sum(sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples
               if sample.name == "overcast_agent_tick_duration_seconds_count"
               and (host is None or sample.labels.get("host") == host))


def wait_for_ticks(cloud: RunningCloud, ticks: int = 2, host: str | None = None,
                   timeout: float = 60) -> None:
    """Until the agents (or `host`'s) have finished `ticks` more ticks: at least one tick
    that began after this call has run, so whatever the agent would do about what came
    before has been done. The event to wait on before asserting that nothing happened."""
    wanted = agent_ticks(cloud, host) + ticks
    deadline = time.monotonic() + timeout
    while agent_ticks(cloud, host) < wanted:
        if time.monotonic() > deadline:
            raise AssertionError(f"the agents did not tick {ticks} more times in {timeout}s")
        time.sleep(0.05)


def ssh_until_ok(key: Path, host: str, command: str, port: int = 22, user: str = "root",
                 timeout: float = 60) -> str:
    """Run `command` over SSH with `key`, retrying until it succeeds or `timeout` passes."""
    argv = ["ssh", "-i", str(key), "-p", str(port), "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5", "-o",
            "BatchMode=yes", f"{user}@{host}", command]
    deadline = time.monotonic() + timeout
    while True:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        if done.returncode == 0 or time.monotonic() > deadline:
            assert done.returncode == 0, done.stderr
            return done.stdout
        time.sleep(0.5)


@dataclass
class InProcessCloud:
    cloud: Cloud
    ctx: Context  # the admin project's
    image_id: str  # a public image with no disk (the fake driver boots anything)

    def __iter__(self) -> Iterator[Any]:  # cloud, ctx, image_id = in_process_cloud(...)
        return iter((self.cloud, self.ctx, self.image_id))


def in_process_cloud(data_dir: Path, host: HostCapacity | None = None,
                     **settings: object) -> InProcessCloud:
    """A bootstrapped Cloud in this process with one public image; with `host`, a fake host of
    that capacity registered as an agent would (else the test brings its own agent)."""
    cloud = Cloud(load_settings(data_dir=data_dir, **settings))
    cloud.prepare()
    cloud.identity.bootstrap()
    image = cloud.images.register_public("img", ImageFiles(disk_path=None)).id
    if host is not None:
        cloud.hosts.heartbeat("h1", "fake", "overcast-1a", host)
    ctx = cloud.identity.lookup(cloud.identity.credentials("admin").access_key_id)[1]
    return InProcessCloud(cloud, ctx, image)
