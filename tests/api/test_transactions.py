"""Transactions per request, counted with SQLAlchemy's `begin` event on the cloud's engines:
a launch (EC2 RunInstances, Nova server create) writes in exactly one transaction, with every
check inside it; DescribeInstances writes nothing. Reads may take their own read-only
transactions (SQLite's reader engine: no writer lock), counted apart. And the image's
min_ram/min_disk rule, decided in the service layer, holds for EC2 too."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from sqlalchemy import event
from werkzeug.serving import make_server

from overcast.api.app import App
from overcast.cloud.service import Cloud
from overcast.drivers.base import HostCapacity
from overcast.identity.context import Context
from tests.conftest import in_process_cloud

PASSWORD = "correct horse battery"


@dataclass
class Counts:
    writes: int = 0
    reads: int = 0
    paused: bool = field(default=True, repr=False)


@dataclass
class Served:
    cloud: Cloud
    url: str
    image_id: str
    counts: Counts

    @contextmanager
    def counting(self) -> Iterator[Counts]:
        self.counts.writes = self.counts.reads = 0
        self.counts.paused = False
        try:
            yield self.counts
        finally:
            self.counts.paused = True


def _count_begins(cloud: Cloud, counts: Counts) -> None:
    def on_write(_conn: Any) -> None:
        if not counts.paused:
            counts.writes += 1

    def on_read(_conn: Any) -> None:
        if not counts.paused:
            counts.reads += 1

    event.listen(cloud.db.engine, "begin", on_write)
    if cloud.db.reader is not cloud.db.engine:
        event.listen(cloud.db.reader, "begin", on_read)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    made = in_process_cloud(tmp_path_factory.mktemp("tx") / "data",
                            host=HostCapacity(vcpus=64, memory_mib=262144, disk_gib=4096))
    if not made.cloud.db.is_sqlite:
        pytest.skip("read and write transactions are told apart by SQLite's two engines")
    made.cloud.identity.roles.set_password("admin", PASSWORD)
    server = make_server("127.0.0.1", 0, App(made.cloud), threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    counts = Counts()
    _count_begins(made.cloud, counts)
    try:
        yield Served(made.cloud, f"http://127.0.0.1:{server.server_port}", made.image_id,
                     counts)
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def ec2(served: Served) -> Any:
    creds = served.cloud.identity.credentials("admin")
    return boto3.client("ec2", endpoint_url=served.url,
                        region_name=served.cloud.settings.region,
                        aws_access_key_id=creds.access_key_id,
                        aws_secret_access_key=creds.secret_access_key,
                        config=Config(retries={"max_attempts": 1}))


def _admin(served: Served) -> Context:
    grant = served.cloud.identity.lookup(served.cloud.identity.credentials("admin").access_key_id)
    assert grant is not None
    return grant[1]


@pytest.fixture(scope="module")
def nova(served: Served) -> Nova:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"name": "Default"}, "password": PASSWORD}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
    answer = requests.post(f"{served.url}/identity/v3/auth/tokens", json=body, timeout=30)
    answer.raise_for_status()
    session = requests.Session()
    session.headers["X-Auth-Token"] = answer.headers["X-Subject-Token"]
    return Nova(session, f"{served.url}/compute/v2.1",
                served.cloud.images.get(_admin(served), served.image_id).uuid)


@dataclass
class Nova:
    session: requests.Session
    url: str
    image_uuid: str

    def create(self, **spec: Any) -> requests.Response:
        server = {"name": "tx", "imageRef": self.image_uuid, "flavorRef": "t3.micro", **spec}
        return self.session.post(f"{self.url}/servers", json={"server": server}, timeout=30)


def test_run_instances_writes_once(served: Served, ec2: Any) -> None:
    ec2.run_instances(ImageId=served.image_id, MinCount=1, MaxCount=1)  # first: defaults
    with served.counting() as counts:
        ec2.run_instances(ImageId=served.image_id, MinCount=2, MaxCount=2,
                          InstanceType="t3.micro")
    assert counts.writes == 1


def test_nova_server_create_writes_once(served: Served, nova: Nova) -> None:
    assert nova.create().status_code == 202  # first: the project's defaults
    with served.counting() as counts:
        answer = nova.create(key_name=None, metadata={"k": "v"})
    assert answer.status_code == 202, answer.text
    assert counts.writes == 1


def test_refused_server_create_writes_nothing_it_keeps(served: Served,
                                                       nova: Nova) -> None:
    with served.counting() as counts:
        answer = nova.create(key_name="nobody-has-this-key")
    assert answer.status_code == 400
    assert answer.json()["badRequest"]["message"] == "Invalid key_name provided."
    assert counts.writes <= 1  # the launch's one transaction, rolled back


def test_describe_instances_reads_only(served: Served, ec2: Any) -> None:
    ec2.describe_instances()  # first: caches (zone IDs, images' root devices) fill
    with served.counting() as counts:
        found = ec2.describe_instances()["Reservations"]
    assert found
    assert counts.writes == 0
    assert 1 <= counts.reads <= 4  # the key, the page of instances, their groups, volumes


def _set_minimums(served: Served, **minimums: int) -> None:
    served.cloud.image_uploads.update(_admin(served), served.image_id, minimums)


def test_ec2_refuses_an_instance_type_smaller_than_the_image_asks(served: Served,
                                                                  ec2: Any) -> None:
    _set_minimums(served, min_ram=8192)
    try:
        with pytest.raises(ClientError) as raised:
            ec2.run_instances(ImageId=served.image_id, MinCount=1, MaxCount=1,
                              InstanceType="t3.micro")
        assert raised.value.response["Error"]["Code"] == "InvalidParameterValue"
        assert "8192 MiB" in raised.value.response["Error"]["Message"]
        big = ec2.run_instances(ImageId=served.image_id, MinCount=1, MaxCount=1,
                                InstanceType="m5.2xlarge")["Instances"]
        assert big[0]["InstanceType"] == "m5.2xlarge"
    finally:
        _set_minimums(served, min_ram=0)


def test_nova_words_the_same_rule_its_own_way(served: Served, nova: Nova) -> None:
    _set_minimums(served, min_disk=10_000)
    try:
        answer = nova.create()
        assert answer.status_code == 400
        assert answer.json()["badRequest"]["message"] == \
            "Flavor's disk is too small for requested image."
    finally:
        _set_minimums(served, min_disk=0)


def test_unknown_network_and_image_are_nova_faults(served: Served,
                                                   nova: Nova) -> None:
    answer = nova.create(networks=[{"uuid": "vpc-0123456789abcdef0"}])
    assert answer.status_code == 400
    assert answer.json()["badRequest"]["message"] == \
        "Network vpc-0123456789abcdef0 could not be found."
    missing = "2f0a7c1e-0000-4000-8000-000000000000"
    answer = nova.create(imageRef=missing)
    assert answer.status_code == 400
    assert answer.json()["badRequest"]["message"] == f"Image {missing} could not be found."


def test_counts_are_real(served: Served) -> None:
    """The counter sees transactions at all: one service call's write counts once."""
    ctx = _admin(served)
    with served.counting() as counts:
        served.cloud.tags.create(ctx, [served.image_id], {"a": "b"})
    assert counts.writes == 1
