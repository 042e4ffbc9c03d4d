"""ClientToken idempotency holds under concurrency: the same token sent from many threads at
once makes one reservation (run on SQLite and, in CI's second pass, on PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import func, select

from overcast.cloud.compute.launch import Launcher, RunRequest
from overcast.db.models import Instance
from overcast.drivers.base import HostCapacity
from tests.conftest import RunningCloud, in_process_cloud, start_cloud

THREADS = 8
TOKENS = 50
PER_LAUNCH = 2


@pytest.fixture(scope="module")
def roomy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    running = start_cloud(tmp_path_factory.mktemp("idem"), default_max_instances=1000,
                          default_max_vcpus=4000, fake_vcpus=1024, fake_memory_mib=1 << 22,
                          fake_disk_gib=1 << 20)
    yield running
    running.stop()


def _instances(ec2, token: str) -> list[tuple[str, list[str]]]:
    found = ec2.describe_instances(Filters=[{"Name": "client-token", "Values": [token]}])
    return [(r["ReservationId"], sorted(i["InstanceId"] for i in r["Instances"]))
            for r in found["Reservations"]]


def test_same_token_from_many_threads_makes_one_reservation(roomy: RunningCloud,
                                                            tmp_path: Path) -> None:
    image = roomy.client().describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    local = threading.local()
    barriers = {t: threading.Barrier(THREADS) for t in range(TOKENS)}

    def launch(token: int) -> tuple[str, list[str]]:
        if not hasattr(local, "ec2"):
            local.ec2 = roomy.client()
        barriers[token].wait(timeout=60)  # all threads send this token at the same moment
        answer = local.ec2.run_instances(ImageId=image, MinCount=PER_LAUNCH,
                                         MaxCount=PER_LAUNCH, ClientToken=f"race-{token}")
        return answer["ReservationId"], sorted(i["InstanceId"] for i in answer["Instances"])

    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(launch, [t for t in range(TOKENS) for _ in range(THREADS)]))
    ec2 = roomy.client()
    for token in range(TOKENS):
        mine = answers[token * THREADS:(token + 1) * THREADS]
        assert len(set(map(str, mine))) == 1, f"token {token} answered differently: {mine}"
        stored = _instances(ec2, f"race-{token}")
        assert stored == [mine[0]], f"token {token}: {stored}"
        assert len(stored[0][1]) == PER_LAUNCH
    every = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    assert len(every) == TOKENS * PER_LAUNCH


def test_same_token_with_other_parameters_is_a_mismatch(roomy: RunningCloud) -> None:
    ec2 = roomy.client()
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    first = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, ClientToken="mismatch",
                              InstanceType="t3.micro")
    again = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, ClientToken="mismatch",
                              InstanceType="t3.micro")
    assert again["ReservationId"] == first["ReservationId"]
    with pytest.raises(ClientError) as exc:
        ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, ClientToken="mismatch",
                          InstanceType="t3.small")
    assert exc.value.response["Error"]["Code"] == "IdempotentParameterMismatch"
    assert len(_instances(ec2, "mismatch")) == 1


def test_the_database_refuses_a_second_launch_with_one_token(tmp_path: Path,
                                                              monkeypatch) -> None:
    """Even when both requests miss each other's rows (as under READ COMMITTED before the
    lock), the unique index lets one commit and the other answers with its launch."""
    cloud, ctx, image = in_process_cloud(tmp_path, HostCapacity(64, 65536, 1024))
    first = cloud.run_instances(ctx, RunRequest(image, min_count=2, max_count=2,
                                                client_token="twin"))
    monkeypatch.setattr(Launcher, "_by_token", staticmethod(lambda *_args: []))
    second = cloud.run_instances(ctx, RunRequest(image, min_count=2, max_count=2,
                                                 client_token="twin"))
    assert second.reservation_id == first.reservation_id
    assert sorted(i.id for i in second.instances) == sorted(i.id for i in first.instances)
    with cloud.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Instance).where(
            Instance.client_token == "twin")) == 2
