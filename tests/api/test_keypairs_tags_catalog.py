"""Key pairs (fingerprints as AWS computes them), tags, regions, zones, types, images."""

from __future__ import annotations

import base64
import hashlib

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa


def _colon(digest: bytes) -> str:
    return ":".join(f"{b:02x}" for b in digest)


def test_created_rsa_key_fingerprint_is_sha1_of_pkcs8(ec2) -> None:
    made = ec2.create_key_pair(KeyName="rsa-made")
    private = serialization.load_pem_private_key(made["KeyMaterial"].encode(), None)
    pkcs8 = private.private_bytes(serialization.Encoding.DER,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    assert made["KeyFingerprint"] == _colon(hashlib.sha1(pkcs8).digest())
    assert made["KeyPairId"].startswith("key-")
    listed = ec2.describe_key_pairs(KeyNames=["rsa-made"], IncludePublicKey=True)["KeyPairs"]
    assert listed[0]["KeyType"] == "rsa"
    assert listed[0]["PublicKey"].startswith("ssh-rsa ")
    with pytest.raises(ClientError) as exc:
        ec2.create_key_pair(KeyName="rsa-made")
    assert exc.value.response["Error"]["Code"] == "InvalidKeyPair.Duplicate"


def test_created_ed25519_key(ec2) -> None:
    made = ec2.create_key_pair(KeyName="ed-made", KeyType="ed25519")
    private = serialization.load_ssh_private_key(made["KeyMaterial"].encode(), None)
    blob = base64.b64decode(private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).split()[1])
    assert made["KeyFingerprint"] == base64.b64encode(hashlib.sha256(blob).digest()).decode()


def test_imported_rsa_key_fingerprint_is_md5_of_der_public(ec2) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    openssh = key.public_bytes(serialization.Encoding.OpenSSH,
                               serialization.PublicFormat.OpenSSH)
    made = ec2.import_key_pair(KeyName="rsa-imported", PublicKeyMaterial=openssh)
    der = key.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    assert made["KeyFingerprint"] == _colon(hashlib.md5(der).digest())


def test_import_ed25519_tag_and_delete(ec2) -> None:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    openssh = key.public_bytes(serialization.Encoding.OpenSSH,
                               serialization.PublicFormat.OpenSSH)
    made = ec2.import_key_pair(KeyName="ed-imported", PublicKeyMaterial=openssh,
                               TagSpecifications=[{"ResourceType": "key-pair",
                                                   "Tags": [{"Key": "team", "Value": "a"}]}])
    found = ec2.describe_key_pairs(Filters=[{"Name": "tag:team", "Values": ["a"]}])
    assert [k["KeyName"] for k in found["KeyPairs"]] == ["ed-imported"]
    ec2.delete_key_pair(KeyName="ed-imported")
    assert "ed-imported" not in [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]]
    ec2.delete_key_pair(KeyName="ed-imported")  # EC2 answers success for a missing name
    with pytest.raises(ClientError) as exc:
        ec2.delete_key_pair(KeyPairId=made["KeyPairId"])
    assert exc.value.response["Error"]["Code"] == "InvalidKeyPair.NotFound"


def test_run_with_unknown_key_fails(ec2, image_id) -> None:
    with pytest.raises(ClientError) as exc:
        ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, KeyName="nope")
    assert exc.value.response["Error"]["Code"] == "InvalidKeyPair.NotFound"


def test_tags_create_describe_delete(ec2, image_id) -> None:
    iid = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)["Instances"][0][
        "InstanceId"]
    ec2.create_tags(Resources=[iid, image_id], Tags=[{"Key": "owner", "Value": "ops"},
                                                     {"Key": "tier", "Value": "web"}])
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]}])["Tags"]
    assert {(t["Key"], t["Value"], t["ResourceType"]) for t in tags} == {
        ("owner", "ops", "instance"), ("tier", "web", "instance")}
    image_tags = ec2.describe_images(ImageIds=[image_id])["Images"][0]["Tags"]
    assert {"Key": "owner", "Value": "ops"} in image_tags
    ec2.delete_tags(Resources=[iid], Tags=[{"Key": "owner", "Value": "someone-else"}])
    ec2.delete_tags(Resources=[iid], Tags=[{"Key": "tier"}])
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]}])["Tags"]
    assert [(t["Key"], t["Value"]) for t in tags] == [("owner", "ops")]
    ec2.delete_tags(Resources=[image_id])
    ec2.terminate_instances(InstanceIds=[iid])


def test_regions_zones_types_account(ec2, cloud) -> None:
    region = cloud.credentials["AWS_DEFAULT_REGION"]
    assert [r["RegionName"] for r in ec2.describe_regions()["Regions"]] == [region]
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    assert zones and zones[0]["State"] == "available"
    assert zones[0]["RegionName"] == region
    types = {t["InstanceType"]: t for t in ec2.describe_instance_types()["InstanceTypes"]}
    assert types["t3.micro"]["VCpuInfo"]["DefaultVCpus"] == 2
    assert types["t3.micro"]["MemoryInfo"]["SizeInMiB"] == 1024
    assert types["m5.2xlarge"]["MemoryInfo"]["SizeInMiB"] == 32768
    some = ec2.describe_instance_types(InstanceTypes=["t3.nano", "m5.large"])["InstanceTypes"]
    assert sorted(t["InstanceType"] for t in some) == ["m5.large", "t3.nano"]
    pages = list(ec2.get_paginator("describe_instance_types").paginate(
        PaginationConfig={"PageSize": 5}))
    assert sum(len(p["InstanceTypes"]) for p in pages) == len(types)
    attributes = ec2.describe_account_attributes(AttributeNames=["supported-platforms"])
    values = attributes["AccountAttributes"][0]["AttributeValues"]
    assert values == [{"AttributeValue": "VPC"}]


def test_images_owned_by_the_cloud(ec2) -> None:
    images = ec2.describe_images()["Images"]
    assert images and images[0]["State"] == "available"
    assert images[0]["ImageOwnerAlias"] == "amazon"
    assert ec2.describe_images(Owners=["self"])["Images"] == []
    named = ec2.describe_images(Filters=[{"Name": "name", "Values": ["overcast-*"]}])
    assert named["Images"]
