"""Fault test: a launch storm from 4 threads that retry with their ClientTokens, while
`overcast up` is killed with SIGKILL three times and restarted. Threads go in pairs through
the same tokens, as a client whose retry overlaps its first try. Afterwards every launch that
got an answer is there, each token made exactly one reservation, nothing is stuck in pending
and the driver runs exactly the live instances (no orphaned VMs, none missing).

"VMs" are what the fake driver lists after the last restart: it persists its VMs in a
journal under the data dir (as qemu processes outlive the controller), read here with the
driver's own code once the cloud has stopped."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from overcast.drivers.base import HostCapacity
from overcast.drivers.fake import FakeDriver
from tests.conftest import RunningCloud, start_cloud

THREADS = 4  # two pairs, each pair sending the same tokens at once
PER_PAIR = 40
PER_LAUNCH = 2
KILL_AFTER = (0.15, 0.45, 0.75)  # of the answered launches: three moments of the storm
DEADLINE = 240.0


@dataclass
class Storm:
    cloud: RunningCloud
    image: str
    answers: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def launch_all(self, tokens: list[str]) -> None:
        for token in tokens:
            self.launch(token)

    def launch(self, token: str) -> None:
        """RunInstances until it answers, as a client that retries after a lost answer."""
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            try:
                if not self.cloud.credentials:
                    raise ConnectionError("cloud restarting")
                ec2 = self.cloud.client(connect_timeout=2, read_timeout=20)
                answer = ec2.run_instances(ImageId=self.image, MinCount=PER_LAUNCH,
                                           MaxCount=PER_LAUNCH, ClientToken=token)
            except ClientError as exc:
                if exc.response["ResponseMetadata"]["HTTPStatusCode"] < 500:
                    with self.lock:
                        self.failures.append(f"{token}: {exc}")
                    return
            except (BotoCoreError, ResponseParserError, ConnectionError, OSError):
                pass  # no answer: the server is down, or died mid-request or mid-answer
            else:
                with self.lock:
                    self.answers.setdefault(token, []).append((answer["ReservationId"], sorted(
                        i["InstanceId"] for i in answer["Instances"])))
                return
            with self.lock:
                self.retries += 1
            time.sleep(0.1)  # a client's retry back-off
        with self.lock:
            self.failures.append(f"{token}: no answer within {DEADLINE} s")


@pytest.fixture()
def storm_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    running = start_cloud(tmp_path_factory.mktemp("storm"), default_max_instances=1000,
                          default_max_vcpus=4000, fake_vcpus=1024, fake_memory_mib=1 << 22,
                          fake_disk_gib=1 << 20)
    yield running
    if running.process and running.process.poll() is None:
        running.stop()


def _wait(what: str, check, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _kill_and_restart(cloud: RunningCloud) -> None:
    assert cloud.process is not None
    cloud.credentials = {}  # the storm's clients wait for the new credentials
    cloud.process.kill()
    cloud.process.wait(30)
    cloud.start()


def test_launch_storm_survives_three_kills(storm_cloud: RunningCloud) -> None:
    cloud = storm_cloud
    image = cloud.client().describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    storm = Storm(cloud, image)
    pairs = [[f"storm-{p}-{n}" for n in range(PER_PAIR)] for p in range(THREADS // 2)]
    tokens = [t for pair in pairs for t in pair]
    total = len(tokens)
    with ThreadPoolExecutor(THREADS) as pool:
        running = [pool.submit(storm.launch_all, pairs[k // 2]) for k in range(THREADS)]
        for share in KILL_AFTER:
            _wait(f"{share:.0%} of the launches answered",
                  lambda share=share: len(storm.answers) >= share * total or storm.failures)
            _kill_and_restart(cloud)
        for future in running:
            future.result()
    assert storm.failures == []
    assert sorted(storm.answers) == sorted(tokens)
    for token, answers in storm.answers.items():
        assert len(answers) == 2 and answers[0] == answers[1], f"{token}: {answers}"

    ec2 = cloud.client()

    def instances() -> list[dict]:
        return [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    _wait("every instance running", lambda: all(
        i["State"]["Name"] == "running" for i in instances()), timeout=120)
    found = instances()
    by_token: dict[str, list[dict]] = {}
    for item in found:
        by_token.setdefault(item["ClientToken"], []).append(item)
    assert sorted(by_token) == sorted(tokens)  # nothing else was made
    for token, [(reservation, ids), _] in storm.answers.items():
        made = by_token[token]
        assert {i["InstanceId"] for i in made} == set(ids), f"{token}: duplicates or loss"
        assert len(ids) == PER_LAUNCH
        assert {ec2.describe_instances(InstanceIds=ids)["Reservations"][0][
            "ReservationId"]} == {reservation}
    assert len(found) == total * PER_LAUNCH

    assert cloud.stop() == 0
    driver = FakeDriver(HostCapacity(1, 1, 1), state_file=cloud.data_dir / "hosts" / "local" /
                        "fake-vms.json")
    assert set(driver.list()) == {i["InstanceId"] for i in found}  # no orphans, none missing
    print(f"\nstorm: {total} launches, {storm.retries} retries, 3 kills")
