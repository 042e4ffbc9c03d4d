"""A controller (`overcast up --no-local-agent`) and `overcast agent` processes joined to it
with the fake driver: real processes talking over the agent API."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from overcast.drivers.base import HostCapacity
from overcast.drivers.fake import FakeDriver
from tests.conftest import RunningCloud, cloud_env, free_port

JOIN_WAIT = 60.0


@dataclass
class RunningAgent:
    name: str
    data_dir: Path
    process: subprocess.Popen

    @property
    def credential(self) -> str:
        return json.loads((self.data_dir / "agent-credential.json").read_text())["credential"]

    def vms(self) -> set[str]:
        """The VMs its fake hypervisor holds (read from the driver's journal)."""
        path = self.data_dir / "hosts" / self.name / "fake-vms.json"
        return set(FakeDriver(HostCapacity(1, 1, 1), state_file=path).list())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_agent(controller: RunningCloud, name: str, data_dir: Path,
                token: str | None = None) -> RunningAgent:
    run_file = data_dir / "agent-run.json"
    run_file.unlink(missing_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "overcast.cli.main", "agent", "--controller",
            controller.endpoint, "--name", name, "--driver", "fake", "--data-dir", str(data_dir)]
    log = open(data_dir.parent / f"{name}.log", "ab")  # noqa: SIM115 - lives with the process
    env = {k: v for k, v in controller.env.items() if k != "OVERCAST_DATABASE_URL"}
    process = subprocess.Popen([*argv, *(["--token", token] if token else [])], env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + JOIN_WAIT
    while not run_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"agent {name} did not join:\n"
                               f"{(data_dir.parent / f'{name}.log').read_text()}")
        time.sleep(0.05)
    return RunningAgent(name, data_dir, process)


def join_token(controller: RunningCloud, name: str) -> str:
    return controller.overcast("host", "token", "create", name).stdout.splitlines()[0]


@dataclass
class Cluster:
    controller: RunningCloud
    agents: dict[str, RunningAgent]
    root: Path


@contextmanager
def running_cluster(root: Path, **settings: object) -> Iterator[Cluster]:
    """A controller with no agent of its own, and hosts node1 and node2 joined to it."""
    controller = RunningCloud(root / "controller", free_port(), cloud_env(root, **settings),
                              up_args=("--no-local-agent",))
    controller.start()
    agents: dict[str, RunningAgent] = {}
    try:
        for name in ("node1", "node2"):
            agents[name] = start_agent(controller, name, root / name,
                                       join_token(controller, name))
        yield Cluster(controller, agents, root)
    finally:
        for agent in agents.values():
            agent.stop()
        controller.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("multihost")) as running:
        yield running
