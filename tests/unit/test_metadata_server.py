"""The metadata server over real sockets, as a guest's relayed connection reaches it."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from overcast.cloud.compute.metadata import InstanceFacts, MetadataOptions
from overcast.metadata import relayauth
from overcast.metadata.documents import config_drive_files
from overcast.metadata.server import MetadataServer

RELAY_KEY = bytes(range(32))
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG0000000000000000000000000000000000000000000 k1"


def facts(instance_id: str, **changes: object) -> InstanceFacts:
    base = InstanceFacts(
        instance_id=instance_id, uuid="6f1c0000-0000-4000-8000-" + instance_id[-12:].zfill(12),
        account_id="123456789012", project_id="p1", reservation_id="r-0123456789abcdef0",
        launch_index=0, image_id="ami-0123456789abcdef0", instance_type="t3.micro",
        region="overcast-1", availability_zone="overcast-1a", private_ip="172.31.0.10",
        public_ip="127.100.0.10", mac="02:00:00:00:00:0a", subnet_cidr="172.31.0.0/20",
        launch_time=datetime(2026, 11, 27, tzinfo=UTC), key_name="k1",
        public_key=KEY, user_data=b"#!/bin/sh\necho hi\n", security_groups=["default", "web"],
        options=MetadataOptions())
    return replace(base, **changes)


FACTS = {"i-000000000000000a1": facts("i-000000000000000a1"),
         "i-000000000000000b2": facts("i-000000000000000b2", private_ip="172.31.0.11",
                                      key_name=None, public_key=None, user_data=b"",
                                      options=MetadataOptions(http_tokens="required")),
         "i-000000000000000c3": facts("i-000000000000000c3",
                                      options=MetadataOptions(http_endpoint="disabled"))}


@pytest.fixture(scope="module")
def server() -> Iterator[MetadataServer]:
    srv = MetadataServer(FACTS.get, "127.0.0.1", 0, relay_key=RELAY_KEY)
    srv.start()
    yield srv
    srv.stop()


def request(server: MetadataServer, instance: str | None, method: str, path: str,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request through a relayed connection (the relay's signed answer to the
    server's challenge, then the guest's bytes); None: the guest's bytes alone."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 169.254.169.254"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode()
    with socket.create_connection(server.endpoint, timeout=5) as sock:
        stream = sock.makefile("rb")
        challenge = stream.readline().split()[1].decode()
        if instance is not None:
            signature = relayauth.signature(RELAY_KEY, challenge, instance)
            raw = f"OVERCAST-INSTANCE {instance} {signature}\r\n".encode() + raw
        sock.sendall(raw)
        data = stream.read()
    if not data:
        return 0, {}, b""
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    fields = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), fields, body


def get(server: MetadataServer, instance: str, path: str, **headers: str) -> tuple[int, str]:
    status, _, body = request(server, instance, "GET", path, headers)
    return status, body.decode()


A, B, C = FACTS


def test_ec2_paths_answer_with_the_instances_own_facts(server: MetadataServer) -> None:
    assert get(server, A, "/latest/meta-data/instance-id") == (200, A)
    status, listing = get(server, A, "/latest/meta-data/")
    assert status == 200
    assert {"instance-id", "local-ipv4", "public-keys/", "placement/"} <= set(listing.split())
    assert get(server, A, "/latest/meta-data/local-ipv4") == (200, "172.31.0.10")
    assert get(server, A, "/latest/meta-data/public-ipv4") == (200, "127.100.0.10")
    assert get(server, A, "/latest/meta-data/placement/availability-zone")[1] == "overcast-1a"
    assert get(server, A, "/latest/meta-data/security-groups")[1] == "default\nweb"
    assert get(server, A, "/latest/meta-data/public-keys/")[1] == "0=k1"
    assert get(server, A, "/latest/meta-data/public-keys/0/openssh-key")[1] == KEY
    assert get(server, A, "/2009-04-04/meta-data/ami-id")[1] == "ami-0123456789abcdef0"
    assert get(server, A, "/latest/user-data") == (200, "#!/bin/sh\necho hi\n")
    doc = json.loads(get(server, A, "/latest/dynamic/instance-identity/document")[1])
    assert doc["instanceId"] == A and doc["accountId"] == "123456789012"
    assert get(server, A, "/latest/meta-data/no-such-thing")[0] == 404


def test_a_guest_reads_only_what_its_channel_names(server: MetadataServer) -> None:
    assert get(server, B, "/latest/meta-data/instance-id",
               **{"X-aws-ec2-metadata-token": "x"})[0] == 401
    assert get(server, "i-0000000000000dead", "/latest/meta-data/instance-id")[0] == 404
    # Without the relay's line the server says nothing at all.
    assert request(server, None, "GET", "/latest/meta-data/instance-id")[0] == 0


def test_imdsv2_tokens(server: MetadataServer) -> None:
    ttl = {"X-aws-ec2-metadata-token-ttl-seconds": "60"}
    status, headers, token = request(server, B, "PUT", "/latest/api/token", ttl)
    assert status == 200 and headers["X-aws-ec2-metadata-token-ttl-seconds"] == "60"
    header = {"X-aws-ec2-metadata-token": token.decode()}
    assert get(server, B, "/latest/meta-data/instance-id", **header) == (200, B)
    # HttpTokens=required: IMDSv1 is refused; B has no user-data and no key.
    assert get(server, B, "/latest/meta-data/instance-id")[0] == 401
    assert get(server, B, "/latest/user-data", **header)[0] == 404
    assert "public-keys/" not in get(server, B, "/latest/meta-data/", **header)[1]
    # A token belongs to the instance that asked for it.
    assert get(server, A, "/latest/meta-data/instance-id", **header)[0] == 401
    assert request(server, B, "PUT", "/latest/api/token")[0] == 400
    assert request(server, B, "PUT", "/latest/api/token",
                   {"X-aws-ec2-metadata-token-ttl-seconds": "99999"})[0] == 400
    assert request(server, B, "PUT", "/latest/api/token",
                   {**ttl, "X-Forwarded-For": "10.0.0.1"})[0] == 403


def test_disabled_endpoint(server: MetadataServer) -> None:
    assert get(server, C, "/latest/meta-data/instance-id")[0] == 403


def test_openstack_paths(server: MetadataServer) -> None:
    status, body = get(server, A, "/openstack/latest/meta_data.json")
    meta = json.loads(body)
    assert status == 200 and meta["public_keys"] == {"k1": KEY}
    assert meta["uuid"] == FACTS[A].uuid
    assert get(server, A, "/openstack/latest/user_data")[1] == "#!/bin/sh\necho hi\n"
    net = json.loads(get(server, A, "/openstack/latest/network_data.json")[1])
    assert net["links"][0]["ethernet_mac_address"] == "02:00:00:00:00:0a"
    assert "latest" in get(server, A, "/openstack/")[1].split()


def test_config_drive_files_hold_the_same_documents() -> None:
    files = config_drive_files(FACTS[A])
    meta = json.loads(files["openstack/latest/meta_data.json"])
    assert meta["keys"][0]["data"] == KEY
    assert files["openstack/2012-08-10/user_data"] == FACTS[A].user_data
    assert json.loads(files["ec2/latest/meta-data.json"])["instance-id"] == A
