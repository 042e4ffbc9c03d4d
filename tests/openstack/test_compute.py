"""Compute v2.1 through openstacksdk: flavors, key pairs, servers and their actions,
metadata, list filters and paging, faults; and the EC2 face seeing the same instances."""

from __future__ import annotations

import pytest
import requests
from botocore.exceptions import ClientError
from openstack import exceptions

from tests.conftest import wait_for_state
from tests.openstack.conftest import OsCloud, wait_status


def test_version_document_offers_2_1_to_2_79(osc: OsCloud) -> None:
    found = requests.get(f"{osc.cloud.endpoint}/compute/v2.1", timeout=10).json()["version"]
    assert (found["id"], found["version"], found["min_version"]) == ("v2.1", "2.79", "2.1")
    assert found["updated"]


def test_flavors_are_the_instance_types(admin) -> None:
    tiny = admin.compute.find_flavor("m1.tiny")
    assert (tiny.vcpus, tiny.ram, tiny.disk) == (1, 512, 1)
    assert admin.compute.get_flavor("t3.micro").ram == 1024
    big = [f.name for f in admin.compute.flavors(min_ram=16384)]
    assert "m1.xlarge" in big and "m1.tiny" not in big


def test_admins_make_flavors_with_free_names(osc: OsCloud, admin) -> None:
    made = admin.compute.create_flavor(name="gpu-large", ram=2048, vcpus=2, disk=10)
    assert (made.name, made.ram, made.vcpus, made.disk) == ("gpu-large", 2048, 2, 10)
    found = osc.cloud.client().describe_instance_types(InstanceTypes=["gpu-large"])
    assert found["InstanceTypes"][0]["VCpuInfo"]["DefaultVCpus"] == 2
    with pytest.raises(exceptions.BadRequestException):
        admin.compute.create_flavor(name="has space", ram=512, vcpus=1, disk=1)
    admin.compute.delete_flavor(made)


def test_keypair_create_import_delete(admin) -> None:
    made = admin.compute.create_keypair(name="sdk-key")
    assert made.private_key.startswith("-----BEGIN")
    assert admin.compute.get_keypair("sdk-key").fingerprint == made.fingerprint
    with pytest.raises(exceptions.ConflictException):
        admin.compute.create_keypair(name="sdk-key")
    imported = admin.compute.create_keypair(name="sdk-imported", public_key=made.public_key)
    assert imported.fingerprint == made.fingerprint
    with pytest.raises(exceptions.BadRequestException):
        admin.compute.create_keypair(name="bad", public_key="ssh-rsa not-a-key")
    admin.compute.delete_keypair("sdk-imported")
    admin.compute.delete_keypair("sdk-key")
    with pytest.raises(exceptions.NotFoundException):
        admin.compute.get_keypair("sdk-key")


def test_nova_imports_ecdsa_keys_and_ec2_does_not(osc: OsCloud, admin) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    public = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    imported = admin.compute.create_keypair(name="sdk-ecdsa", public_key=public)
    assert imported.public_key.split()[:2] == public.split()[:2]
    assert admin.compute.get_keypair("sdk-ecdsa").fingerprint == imported.fingerprint
    ec2 = osc.cloud.client()
    seen = ec2.describe_key_pairs(KeyNames=["sdk-ecdsa"])["KeyPairs"][0]
    # Nova shows the MD5 of the key (as Nova does), EC2 its SHA-256 (as for ED25519 keys)
    assert seen["KeyType"] == "ecdsa" and len(seen["KeyFingerprint"]) == 44
    with pytest.raises(ClientError, match="InvalidKey.Format"):
        ec2.import_key_pair(KeyName="ec2-ecdsa", PublicKeyMaterial=public.encode())
    admin.compute.delete_keypair("sdk-ecdsa")


def test_server_lifecycle_and_ec2_crossing(osc: OsCloud, admin, image_id) -> None:
    server = admin.compute.create_server(networks="auto", name="sdk-vm", image_id=image_id,
                                         flavor_id="m1.tiny", metadata={"role": "web"})
    server = admin.compute.wait_for_server(server, status="ACTIVE", wait=30, interval=0.2)
    assert server.addresses["default"][0]["addr"].startswith("172.31.")
    ec2 = osc.cloud.client()
    found = [i for r in ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values":
                                                         ["sdk-vm"]}])["Reservations"]
             for i in r["Instances"]]
    assert len(found) == 1 and found[0]["InstanceId"].startswith("i-")
    assert {"Key": "role", "Value": "web"} in found[0]["Tags"]
    instance_id = found[0]["InstanceId"]
    admin.compute.stop_server(server)
    wait_status(admin, server.id, "SHUTOFF")
    wait_for_state(ec2, [instance_id], "stopped")
    ec2.start_instances(InstanceIds=[instance_id])
    wait_status(admin, server.id, "ACTIVE")
    admin.compute.reboot_server(server, "HARD")
    wait_status(admin, server.id, "ACTIVE")
    assert "booted" in admin.compute.get_server_console_output(server)["output"]
    admin.compute.delete_server(server)
    wait_for_state(ec2, [instance_id], "terminated")
    with pytest.raises(exceptions.NotFoundException):
        admin.compute.get_server(server.id)


def test_ec2_instance_shows_as_server(osc: OsCloud, admin) -> None:
    ec2 = osc.cloud.client()
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    run = ec2.run_instances(ImageId=ami, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                            TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                {"Key": "Name", "Value": "from-ec2"}]}])
    instance_id = run["Instances"][0]["InstanceId"]
    wait_for_state(ec2, [instance_id], "running")
    server = next(admin.compute.servers(name="^from-ec2$"))
    assert server.status == "ACTIVE" and server.flavor["original_name"] == "t3.micro" \
        or server.flavor["id"] == "t3.micro"
    admin.compute.set_server_metadata(server, owner="ops")
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [instance_id]}])
    found_tags = {t["Key"]: t["Value"] for t in tags["Tags"]}
    assert found_tags == {"owner": "ops", "Name": "from-ec2"}
    ec2.terminate_instances(InstanceIds=[instance_id])
    wait_for_state(ec2, [instance_id], "terminated")


def test_metadata_and_rename(admin, image_id) -> None:
    server = admin.compute.create_server(name="meta-vm", image_id=image_id,
                                         flavor_id="m1.tiny", networks="none")
    admin.compute.set_server_metadata(server, a="1", b="2")
    assert admin.compute.get_server_metadata(server).metadata == {"a": "1", "b": "2"}
    admin.compute.delete_server_metadata(server, ["a"])
    assert admin.compute.get_server_metadata(server).metadata == {"b": "2"}
    admin.compute.update_server(server, name="meta-vm-2")
    assert admin.compute.get_server(server.id).name == "meta-vm-2"
    admin.compute.delete_server(server)


def test_list_filters_and_paging(admin, image_id) -> None:
    made = [admin.compute.create_server(name=f"page-{n}", image_id=image_id,
                                        flavor_id="m1.tiny", networks="none")
            for n in range(3)]
    ids = {s.id for s in made}
    named = {s.id for s in admin.compute.servers(name="^page-")}
    assert named == ids
    first = list(admin.compute.servers(details=False, name="^page-", limit=2,
                                       paginated=False))
    assert len(first) == 2
    rest = list(admin.compute.servers(details=False, name="^page-", limit=2,
                                      marker=first[-1].id, paginated=False))
    assert {s.id for s in first} | {s.id for s in rest} == ids
    assert list(admin.compute.servers(flavor="t3.micro", name="^page-")) == []
    for server in made:
        admin.compute.delete_server(server)


def test_tenants_are_walls(osc: OsCloud, admin, image_id) -> None:
    server = admin.compute.create_server(name="private-vm", image_id=image_id,
                                         flavor_id="m1.tiny", networks="none")
    alice = osc.user("alice", "p2")
    assert server.id not in {s.id for s in alice.compute.servers()}
    with pytest.raises(exceptions.NotFoundException):
        alice.compute.get_server(server.id)
    with pytest.raises(exceptions.NotFoundException):
        alice.compute.delete_server(server.id, ignore_missing=False)
    rita = osc.user("rita", "p2")
    with pytest.raises(exceptions.ForbiddenException):
        rita.compute.create_server(name="r", image_id=image_id, flavor_id="m1.tiny",
                                   networks="none")
    admin.compute.delete_server(server)
    # a server's user_id is who launched it, whoever asks
    mine = alice.compute.create_server(name="alice-vm", image_id=image_id,
                                       flavor_id="m1.tiny", networks="none")
    alice_id = alice.current_user_id
    assert alice_id != rita.current_user_id
    assert rita.compute.get_server(mine.id).user_id == alice_id
    alice.compute.delete_server(mine)


def test_faults_have_nova_shape(osc: OsCloud, admin, image_id) -> None:
    token = admin.session.get_token()
    url = f"{osc.cloud.endpoint}/compute/v2.1"
    headers = {"X-Auth-Token": token}
    cases = [
        ("post", "/servers", b"{bad", 400), ("post", "/servers", b"[]", 400),
        ("post", "/servers", b'{"server": {"name": "x", "flavorRef": "m1.tiny"}}', 400),
        ("post", "/servers", b'{"server": {"name": "x", "imageRef": "%s", '
                             b'"flavorRef": "nope"}}' % image_id.encode(), 400),
        ("get", "/servers/00000000-0000-0000-0000-000000000000", None, 404),
        ("post", "/flavors", b'{"flavor": {"name": "q.x", "ram": "a", "vcpus": 1}}', 400),
        ("get", "/nonexistent", None, 404), ("delete", "/flavors/detail", None, 404),
    ]
    for method, path, body, status in cases:
        found = requests.request(method, url + path, data=body, headers=headers, timeout=10)
        assert found.status_code == status, (method, path, found.text)
        (name, fault), = found.json().items()
        assert fault["code"] == status and fault["message"]
    too_new = requests.get(f"{url}/servers", timeout=10,
                           headers={**headers, "OpenStack-API-Version": "compute 2.99"})
    assert too_new.status_code == 406


def test_limits_reflect_quota_and_usage(osc: OsCloud) -> None:
    alice = osc.user("alice", "p2")
    absolute = alice.compute.get_limits().absolute
    assert absolute.instances == 20 and absolute.instances_used == 0


def test_image_proxy_metadata_is_glance_properties(admin) -> None:
    image = admin.image.create_image(name="proxy-meta", disk_format="raw",
                                     container_format="bare")
    admin.compute.set_image_metadata(image.id, os_distro="debian", arch="x86_64")
    metadata = admin.compute.get_image_metadata(image.id).metadata
    assert (metadata["os_distro"], metadata["arch"]) == ("debian", "x86_64")
    admin.compute.delete_image_metadata(image.id, ["arch"])
    glance = admin.image.get_image(image.id)
    assert glance.os_distro == "debian" and "arch" not in glance.properties
    listed = list(admin.compute.images(limit=1, paginated=False))
    assert len(listed) == 1
    admin.image.delete_image(image)


def test_security_group_proxy_is_the_ec2_groups(osc: OsCloud, admin, image_id) -> None:
    url = f"{osc.cloud.endpoint}/compute/v2.1"
    headers = {"X-Auth-Token": admin.session.get_token()}
    group = requests.post(f"{url}/os-security-groups", headers=headers, timeout=10, json={
        "security_group": {"name": "nova-web", "description": "via nova"}}).json()
    group = group["security_group"]
    rule = requests.post(f"{url}/os-security-group-rules", headers=headers, timeout=10, json={
        "security_group_rule": {"parent_group_id": group["id"], "ip_protocol": "tcp",
                                "from_port": 443, "to_port": 443, "cidr": "10.2.3.4/24"}})
    assert rule.json()["security_group_rule"]["ip_range"] == {"cidr": "10.2.3.0/24"}
    server = admin.compute.create_server(name="sg-vm", image_id=image_id,
                                         flavor_id="m1.tiny", networks="none")
    added = requests.post(f"{url}/servers/{server.id}/action", headers=headers, timeout=10,
                          json={"addSecurityGroup": {"name": "nova-web"}})
    assert added.status_code == 202
    ec2 = osc.cloud.client()
    instance = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["sg-vm"]}])
    groups = instance["Reservations"][0]["Instances"][0]["SecurityGroups"]
    assert {g["GroupName"] for g in groups} == {"default", "nova-web"}
    in_use = requests.delete(f"{url}/os-security-groups/{group['id']}", headers=headers,
                             timeout=10)
    assert in_use.status_code == 400
    admin.compute.delete_server(server)
    admin.compute.wait_for_delete(server, wait=30)
    assert requests.delete(f"{url}/os-security-groups/{group['id']}", headers=headers,
                           timeout=10).status_code == 202
