"""The agent API's wall: a host's credential reads and changes only its own instances, specs
and jobs, registers only as itself; join tokens work once, for their host, until they
expire; bad input gets a JSON error with a code, never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from overcast.api.agent.app import BUSY_WAIT, MAX_HELD
from tests.conftest import wait_for_state
from tests.multihost.conftest import Cluster, join_token


def _call(cluster: Cluster, call: str, credential: str | None, body: Any = None,
          raw: bytes | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {credential}"} if credential else {}
    data = raw if raw is not None else json.dumps(body or {}).encode()
    return requests.post(f"{cluster.controller.endpoint}/agent/v1/{call}", data=data,
                         headers=headers, timeout=30)


def _code(response: requests.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


@pytest.fixture(scope="module")
def placed(cluster: Cluster) -> Iterator[dict[str, str]]:
    """host name -> an instance running there."""
    ec2 = cluster.controller.client()
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ids = [i["InstanceId"] for i in ec2.run_instances(
        ImageId=image, InstanceType="t2.micro", MinCount=4, MaxCount=4)["Instances"]]
    wait_for_state(ec2, ids, "running")
    yield {name: sorted(agent.vms() & set(ids))[0] for name, agent in cluster.agents.items()}
    ec2.terminate_instances(InstanceIds=ids)


def test_a_host_reads_no_other_hosts_instances_or_specs(cluster: Cluster,
                                                        placed: dict[str, str]) -> None:
    mine, theirs = cluster.agents["node1"].credential, placed["node2"]
    for call, body in (("rows", {"ids": [theirs]}), ("launch_specs", {"ids": [theirs]}),
                       ("network", {"instance_id": theirs}),
                       ("rows", {"ids": [placed["node1"], theirs]})):
        assert _code(_call(cluster, call, mine, body)) == (403, "Forbidden"), call
    own = _call(cluster, "launch_specs", mine, {"ids": [placed["node1"]]})
    assert own.status_code == 200 and "spec" in own.json()["result"][placed["node1"]]
    node2_id = json.loads((cluster.agents["node2"].data_dir / "agent-run.json").read_text())[
        "host_id"]
    for call in ("for_host", "changed_since", "known_ids", "snapshot_jobs", "volume_jobs"):
        body = {"host_id": node2_id, "since": 0}
        assert _code(_call(cluster, call, mine, body)) == (403, "Forbidden"), call


def test_a_host_changes_no_other_hosts_instances(cluster: Cluster,
                                                 placed: dict[str, str]) -> None:
    mine, theirs = cluster.agents["node1"].credential, placed["node2"]
    seen = {"instance_id": theirs, "event": "powered_off", "expected": "running"}
    assert _code(_call(cluster, "observe", mine, seen)) == (403, "Forbidden")
    assert _code(_call(cluster, "observe_many", mine, {"seen": [seen]})) == (403, "Forbidden")
    assert _code(_call(cluster, "reboot_done", mine, {"instance_id": theirs})) == \
        (403, "Forbidden")
    assert _code(_call(cluster, "snapshot_done", mine, {"image_id": "ami-0123456789abcdef0"})) \
        == (403, "Forbidden")
    assert _code(_call(cluster, "volume_report", mine, {
        "kind": "deleted", "volume_id": "vol-0123456789abcdef0"})) == (403, "Forbidden")
    # an agent reports only what it sees, never users' actions, even on its own instances
    own = {"instance_id": placed["node1"], "event": "terminate", "expected": "running"}
    assert _code(_call(cluster, "observe", mine, own)) == (400, "InvalidEvent")
    wait_for_state(cluster.controller.client(), [theirs, placed["node1"]], "running")


def test_a_host_registers_only_as_itself(cluster: Cluster) -> None:
    capacity = {"vcpus": 64, "memory_mib": 1024, "disk_gib": 10}
    body = {"name": "node2", "driver": "fake", "zone": "", "capacity": capacity}
    assert _code(_call(cluster, "heartbeat", cluster.agents["node1"].credential, body)) == \
        (403, "Forbidden")
    body["name"] = "node1"
    body["driver"] = "ec2"  # a remote cloud's driver is not a host's
    assert _code(_call(cluster, "heartbeat", cluster.agents["node1"].credential, body)) == \
        (400, "InvalidDriver")


def test_join_tokens_work_once_for_their_host_until_they_expire(cluster: Cluster) -> None:
    token = join_token(cluster.controller, "node3")
    assert _code(_call(cluster, "join", None, {"token": token, "name": "node1"})) == \
        (401, "InvalidJoinToken")  # a token for node3 does not make node1
    first = _call(cluster, "join", None, {"token": token, "name": "node3"})
    assert first.status_code == 200
    credential = first.json()["result"]["credential"]
    assert _code(_call(cluster, "join", None, {"token": token, "name": "node3"})) == \
        (401, "InvalidJoinToken")  # spent
    expired = cluster.controller.overcast("host", "token", "create", "node4", "--expires-in",
                                          "0").stdout.splitlines()[0]
    assert _code(_call(cluster, "join", None, {"token": expired, "name": "node4"})) == \
        (401, "InvalidJoinToken")
    # joining again with a new token ends the old credential
    again = _call(cluster, "join", None, {"token": join_token(cluster.controller, "node3"),
                                          "name": "node3"})
    assert again.status_code == 200
    assert _code(_call(cluster, "known_ids", credential)) == (401, "AuthFailure")


def test_no_credential_or_a_wrong_one_is_refused(cluster: Cluster) -> None:
    right = cluster.agents["node1"].credential
    wrong = right.split(".")[0] + ".not-the-secret"
    for credential in (None, wrong, "nonsense"):
        assert _code(_call(cluster, "known_ids", credential)) == (401, "AuthFailure")
    answer = requests.get(f"{cluster.controller.endpoint}/agent/v1/changes?timeout=0",
                          timeout=30)
    assert _code(answer) == (401, "AuthFailure")


def test_bad_input_gets_a_json_error_not_a_500(cluster: Cluster) -> None:
    mine = cluster.agents["node1"].credential
    assert _code(_call(cluster, "rows", mine, raw=b"{not json")) == (400, "InvalidArgument")
    assert _code(_call(cluster, "rows", mine, raw=b"\xff\xfe")) == (400, "InvalidArgument")
    assert _code(_call(cluster, "rows", mine, raw=b"[1]")) == (400, "InvalidArgument")
    assert _code(_call(cluster, "rows", mine, {"ids": "i-1"})) == (400, "InvalidArgument")
    assert _code(_call(cluster, "rows", mine, {})) == (400, "MissingArgument")
    assert _code(_call(cluster, "observe", mine, {"instance_id": "i-1", "event": "booted",
                                                  "expected": "sideways"})) == \
        (400, "InvalidArgument")
    assert _code(_call(cluster, "no_such_call", mine)) == (404, "UnknownCall")
    answer = requests.get(f"{cluster.controller.endpoint}/agent/v1/rows", timeout=30)
    assert _code(answer) == (405, "MethodNotAllowed")


def test_the_long_poll_returns_on_a_change_not_after_its_timeout(cluster: Cluster) -> None:
    url = f"{cluster.controller.endpoint}/agent/v1/changes"
    headers = {"Authorization": f"Bearer {cluster.agents['node1'].credential}"}
    now = requests.get(f"{url}?timeout=0", headers=headers, timeout=30).json()["result"]
    quiet = requests.get(f"{url}?after={now['generation']}&timeout=0.2", headers=headers,
                         timeout=30).json()["result"]
    assert quiet["generation"] == now["generation"]  # nothing changed: it timed out
    with requests.Session() as session, ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(session.get, f"{url}?after={now['generation']}&timeout=25",
                              headers=headers, timeout=60)
        ec2 = cluster.controller.client()
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        launched = ec2.run_instances(ImageId=image, InstanceType="t2.micro", MinCount=1,
                                     MaxCount=1)["Instances"][0]["InstanceId"]
        answer = waiting.result(timeout=20)  # well before the 25 s it could wait
    assert answer.json()["result"]["generation"] > now["generation"]
    wait_for_state(ec2, [launched], "running")
    ec2.terminate_instances(InstanceIds=[launched])


def test_long_polls_past_the_limit_are_answered_at_once(cluster: Cluster) -> None:
    url = f"{cluster.controller.endpoint}/agent/v1/changes"
    headers = {"Authorization": f"Bearer {cluster.agents['node1'].credential}"}
    now = requests.get(f"{url}?timeout=0", headers=headers, timeout=30).json()["result"]
    poll = f"{url}?after={now['generation']}&timeout=3"
    with ThreadPoolExecutor(MAX_HELD + 2) as pool:  # more than can be held, whatever else
        answers = list(pool.map(lambda _: requests.get(poll, headers=headers, timeout=30)
                                .json()["result"], range(MAX_HELD + 2)))
    busy = [a for a in answers if a["wait"] == BUSY_WAIT]
    assert len(busy) >= 2 and all(a["generation"] == now["generation"] for a in answers)
