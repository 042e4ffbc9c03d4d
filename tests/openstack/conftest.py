"""One running cloud for the OpenStack tests, with clouds.yaml from `overcast credentials`
and a second project holding a member and a reader."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openstack
import pytest
import yaml

from tests.conftest import RunningCloud, start_cloud

PASSWORD = "correct horse battery"
IMAGE_NAME = "overcast-testimage"


@dataclass
class OsCloud:
    cloud: RunningCloud
    home: Path
    clouds_yaml: dict

    @property
    def auth_url(self) -> str:
        return f"{self.cloud.endpoint}/identity"

    def admin(self) -> openstack.connection.Connection:
        entry = self.clouds_yaml["clouds"]["overcast"]
        return openstack.connect(auth_type=entry["auth_type"], auth=entry["auth"],
                                 region_name=entry["region_name"], load_yaml_config=False,
                                 load_envvars=False)

    def user(self, name: str, project: str,
             password: str = PASSWORD) -> openstack.connection.Connection:
        return openstack.connect(auth_url=self.auth_url, username=name, password=password,
                                 project_name=project, user_domain_name="Default",
                                 project_domain_name="Default",
                                 region_name=self.cloud.env.get("OVERCAST_REGION", "overcast-1"),
                                 load_yaml_config=False, load_envvars=False)

    @property
    def openstack_binary(self) -> str:
        return str(Path(sys.executable).parent / "openstack")

    def cli(self, *args: str, check: bool = True,
            cloud: str = "overcast") -> subprocess.CompletedProcess:
        env = {**self.cloud.env, "HOME": str(self.home), "OS_CLOUD": cloud}
        argv = [self.openstack_binary, *args]
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"openstack {' '.join(args)} failed:\n{result.stderr}")
        return result

    def cli_json(self, *args: str) -> dict | list:
        return json.loads(self.cli(*args, "-f", "json").stdout)


def wait_status(conn: openstack.connection.Connection, server_id: str, status: str,
                timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        server = conn.compute.get_server(server_id)
        if server.status == status:
            return server
        if time.monotonic() > deadline:
            raise AssertionError(f"server {server_id} is {server.status}, not {status}")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def osc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OsCloud]:
    tmp = tmp_path_factory.mktemp("oscloud")
    running = start_cloud(tmp)
    home = tmp / "home"
    config = home / ".config" / "openstack"
    config.mkdir(parents=True)
    text = running.overcast("credentials", "--format", "clouds-yaml").stdout
    (config / "clouds.yaml").write_text(text)
    running.overcast("project", "create", "p2")
    running.overcast("user", "create", "alice", "--project", "p2", "--password", PASSWORD)
    running.overcast("user", "create", "rita", "--project", "p2", "--password", PASSWORD,
                     "--role", "reader")
    os.environ.pop("OS_CLOUD", None)
    yield OsCloud(running, home, yaml.safe_load(text))
    running.stop()


@pytest.fixture(scope="session")
def admin(osc: OsCloud) -> openstack.connection.Connection:
    return osc.admin()


@pytest.fixture(scope="session")
def image_id(admin: openstack.connection.Connection) -> str:
    return admin.image.find_image(IMAGE_NAME).id
