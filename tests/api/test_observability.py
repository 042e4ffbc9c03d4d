"""What an operator sees of a running cloud: one JSON log line per request and per instance
state change (`overcast up --log-format json`), and Prometheus metrics at /metrics that match
what clients did."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import openstack
import pytest
import yaml
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import RunningCloud, cloud_env, free_port, wait_for_state


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    tmp = tmp_path_factory.mktemp("logged")
    running = RunningCloud(tmp / "data", free_port(), cloud_env(tmp),
                           up_args=("--log-format", "json"))
    running.start()
    yield running
    running.stop()


def log_entries(cloud: RunningCloud) -> list[dict]:
    assert cloud.log_path is not None
    lines = cloud.log_path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def wait_for_entries(cloud: RunningCloud, wanted, timeout: float = 10) -> list[dict]:
    """The log's entries once `wanted(entries)` holds (lines are written after commits)."""
    deadline = time.monotonic() + timeout
    while True:
        entries = log_entries(cloud)
        if wanted(entries) or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


def scrape(cloud: RunningCloud) -> dict[tuple[str, tuple], float]:
    """(sample name, sorted labels) -> value, from /metrics."""
    with urllib.request.urlopen(f"{cloud.endpoint}/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def requests_of(samples: dict, face: str, action: str, status: str) -> float:
    labels = (("action", action), ("face", face), ("status", status))
    return samples.get(("overcast_api_requests_total", labels), 0.0)


def timed(samples: dict, face: str, action: str) -> float:
    labels = (("action", action), ("face", face))
    return samples.get(("overcast_api_request_duration_seconds_count", labels), 0.0)


def sdk(cloud: RunningCloud) -> openstack.connection.Connection:
    text = cloud.overcast("credentials", "--project", "admin", "--format",
                          "clouds-yaml").stdout
    [entry] = yaml.safe_load(text)["clouds"].values()
    return openstack.connect(auth_type=entry["auth_type"], auth=entry["auth"],
                             region_name=entry["region_name"], load_yaml_config=False,
                             load_envvars=False)


def test_each_request_and_state_change_has_one_json_line(logged: RunningCloud) -> None:
    ec2 = logged.client()
    image_id = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    calls: dict[str, tuple[str, int]] = {}  # request ID -> (action, status)
    described = ec2.describe_instances()
    calls[described["ResponseMetadata"]["RequestId"]] = ("DescribeInstances", 200)
    launched = ec2.run_instances(ImageId=image_id, InstanceType="t3.micro",
                                 MinCount=1, MaxCount=1)
    calls[launched["ResponseMetadata"]["RequestId"]] = ("RunInstances", 200)
    instance_id = launched["Instances"][0]["InstanceId"]
    with pytest.raises(ClientError) as failed:
        ec2.terminate_instances(InstanceIds=["i-0123456789abcdef0"])
    assert failed.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"
    calls[failed.value.response["ResponseMetadata"]["RequestId"]] = ("TerminateInstances", 400)
    wait_for_state(ec2, [instance_id], "running")
    account = launched["OwnerId"]

    def done(entries: list[dict]) -> bool:
        return (all(any(e.get("request_id") == r for e in entries) for r in calls)
                and any(e.get("to_state") == "running" for e in entries))

    entries = wait_for_entries(logged, done)
    for request_id, (action, status) in calls.items():
        lines = [e for e in entries if e.get("request_id") == request_id]
        assert len(lines) == 1, (request_id, lines)
        [line] = lines
        assert {k: line[k] for k in ("face", "action", "status", "account")} == \
            {"face": "ec2", "action": action, "status": status, "account": account}
        assert line["project"] and line["user"] and line["duration_ms"] >= 0
        assert line.get("error") == (None if status == 200 else "InvalidInstanceID.NotFound")
        assert line["logger"] == "overcast.request" and line["level"] == "INFO"
        assert {"ts", "msg"} <= line.keys()

    changes = [(e["from_state"], e["to_state"]) for e in entries
               if e.get("instance_id") == instance_id]
    assert changes[:2] == [("none", "pending"), ("pending", "running")], changes
    assert not any("exc" in e for e in entries)
    assert "Traceback" not in (logged.log_path.read_text() if logged.log_path else "")


def test_openstack_requests_log_their_route_not_the_id(logged: RunningCloud) -> None:
    ec2 = logged.client()
    image_id = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.run_instances(ImageId=image_id, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                      TagSpecifications=[{"ResourceType": "instance",
                                          "Tags": [{"Key": "Name", "Value": "seen"}]}])
    conn = sdk(logged)
    server = next(s for s in conn.compute.servers() if s.name == "seen")
    conn.compute.get_server(server.id)
    entries = wait_for_entries(logged, lambda es: any(
        e.get("action") == "GET /compute/v2.1/servers/<server_id>" for e in es))
    shown = [e for e in entries if e.get("action") == "GET /compute/v2.1/servers/<server_id>"]
    assert len(shown) == 1 and shown[0]["status"] == 200 and shown[0]["face"] == "compute"
    assert shown[0]["request_id"].startswith("req-") and shown[0]["project"]
    assert not any(server.id in e.get("action", "") for e in entries)


def test_metrics_match_what_clients_did(logged: RunningCloud) -> None:
    ec2 = logged.client()
    conn = sdk(logged)
    list(conn.compute.servers())  # authenticates and discovers the endpoint first
    before = scrape(logged)
    describes = 3
    for _ in range(describes):
        ec2.describe_instances()
    with pytest.raises(ClientError):
        ec2.stop_instances(InstanceIds=["i-0123456789abcdef0"])
    listings = 2
    for _ in range(listings):
        list(conn.compute.servers())
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.compute.get_server("00000000-0000-4000-8000-000000000000")
    after = scrape(logged)

    def delta(counter, face: str, action: str, *status: str) -> float:
        return counter(after, face, action, *status) - counter(before, face, action, *status)

    assert delta(requests_of, "ec2", "DescribeInstances", "200") == describes
    assert delta(timed, "ec2", "DescribeInstances") == describes
    assert delta(requests_of, "ec2", "StopInstances", "400") == 1
    assert delta(requests_of, "compute", "GET /compute/v2.1/servers/detail", "200") == listings
    assert delta(timed, "compute", "GET /compute/v2.1/servers/detail") == listings
    assert delta(requests_of, "compute", "GET /compute/v2.1/servers/<server_id>", "404") == 1

    found = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    ids = [i["InstanceId"] for i in found]
    settled = wait_for_state(ec2, ids, "running") if ids else []
    by_state = {}
    for instance in settled:
        by_state[instance["State"]["Name"]] = by_state.get(instance["State"]["Name"], 0) + 1
    samples = scrape(logged)
    gauges = {dict(labels)["state"]: value for (name, labels), value in samples.items()
              if name == "overcast_instances"}
    assert {k: v for k, v in gauges.items() if v} == by_state
    hosts = {dict(labels)["host"]: value for (name, labels), value in samples.items()
             if name == "overcast_host_vcpus_allocated"}
    assert hosts == {"local": sum(2 for _ in settled)}  # t3.micro: 2 vCPUs
    assert samples[("overcast_cpu_allocation_ratio", ())] == 4.0
    assert any(name == "overcast_agent_tick_duration_seconds_count" and value > 0
               for (name, _), value in samples.items())


def test_metrics_with_a_token_answer_only_its_bearer(tmp_path: Path) -> None:
    from tests.conftest import start_cloud

    guarded = start_cloud(tmp_path, metrics_token="s3cret")
    try:
        url = f"{guarded.endpoint}/metrics"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=10)
        assert refused.value.code == 401
        request = urllib.request.Request(url, headers={"Authorization": "Bearer s3cret"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert b"overcast_instances" in response.read()
    finally:
        guarded.stop()
