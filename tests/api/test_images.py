"""Images through boto3: register from the store or a host path, share, publish, describe with
owners, executable users, filters and paging, attributes, deregister; the admin import CLI."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import RunningCloud, start_cloud


def code_of(call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as exc:
        call(*args, **kwargs)
    return exc.value.response["Error"]["Code"]


def make_disk(path: Path, fmt: str = "qcow2", size: str = "16M", *extra: str) -> Path:
    subprocess.run(["qemu-img", "create", "-q", "-f", fmt, *extra, str(path), size],
                   check=True)
    return path


@pytest.fixture(scope="module")
def images_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    running = start_cloud(tmp_path_factory.mktemp("images"))
    running.overcast("project", "create", "alpha")
    running.overcast("project", "create", "beta")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def admin(images_cloud):
    return images_cloud.client()


@pytest.fixture(scope="module")
def alpha(images_cloud):
    return images_cloud.client(images_cloud.project_credentials("alpha"))


@pytest.fixture(scope="module")
def beta(images_cloud):
    return images_cloud.client(images_cloud.project_credentials("beta"))


@pytest.fixture(scope="module")
def alpha_image(images_cloud, tmp_path_factory, alpha) -> dict:
    """An image imported for project alpha with the admin CLI: its store file and its AMI."""
    disk = make_disk(tmp_path_factory.mktemp("disks") / "alpha.qcow2")
    out = images_cloud.overcast("image", "import", str(disk), "--name", "alpha-base",
                                "--project", "alpha").stdout
    image_id = out.split()[0]
    store_name = out.split("stored as ", 1)[1].split()[0]
    found = alpha.describe_images(ImageIds=[image_id])["Images"][0]
    return {"id": image_id, "store_name": store_name, "owner": found["OwnerId"]}


def test_import_cli_registers_a_private_image(images_cloud, alpha, beta, alpha_image) -> None:
    found = alpha.describe_images(Owners=["self"])["Images"]
    assert [i["ImageId"] for i in found] == [alpha_image["id"]]
    assert found[0]["Name"] == "alpha-base" and found[0]["Public"] is False
    assert found[0]["State"] == "available"
    assert "ImageOwnerAlias" not in found[0]
    assert code_of(beta.describe_images, ImageIds=[alpha_image["id"]]) == \
        "InvalidAMIID.NotFound"
    assert code_of(beta.run_instances, ImageId=alpha_image["id"], MinCount=1, MaxCount=1) == \
        "InvalidAMIID.NotFound"
    listing = images_cloud.overcast("image", "list").stdout
    assert alpha_image["id"] in listing and "alpha-base" in listing


def test_import_refuses_backing_files_and_other_formats(images_cloud, tmp_path) -> None:
    base = make_disk(tmp_path / "base.qcow2")
    overlay = make_disk(tmp_path / "overlay.qcow2", "qcow2", "16M", "-F", "qcow2", "-b",
                        str(base))
    data_file = make_disk(tmp_path / "df.qcow2", "qcow2", "16M", "-o",
                          f"data_file={tmp_path / 'df.raw'}")
    vmdk = make_disk(tmp_path / "disk.vmdk", "vmdk")
    for path, why in ((overlay, "backing file"), (data_file, "external data file"),
                      (vmdk, "'vmdk' is not accepted")):
        result = images_cloud.overcast("image", "import", str(path), "--name", "bad",
                                       check=False)
        assert result.returncode == 1 and why in result.stderr, result.stderr
    store = images_cloud.data_dir / "images" / "store"
    assert not [p for p in store.iterdir() if p.name.startswith(".importing")]


def test_public_import_is_owned_by_amazon(images_cloud, beta, tmp_path) -> None:
    raw = make_disk(tmp_path / "pub.raw", "raw", "8M")
    out = images_cloud.overcast("image", "import", f"file://{raw}", "--name", "public-raw",
                                "--public", "--quiet").stdout
    image_id = out.split()[0]
    found = beta.describe_images(Owners=["amazon"],
                                 Filters=[{"Name": "name", "Values": ["public-r?w"]}])["Images"]
    assert [(i["ImageId"], i["ImageOwnerAlias"], i["Public"]) for i in found] == [
        (image_id, "amazon", True)]
    made = beta.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)["Instances"][0]
    beta.terminate_instances(InstanceIds=[made["InstanceId"]])


def test_register_from_store_needs_a_usable_file(alpha, beta, alpha_image) -> None:
    copy_id = alpha.register_image(Name="alpha-copy", ImageLocation=alpha_image["store_name"],
                                   Description="same disk")["ImageId"]
    found = alpha.describe_images(ImageIds=[copy_id])["Images"][0]
    assert found["Description"] == "same disk" and found["OwnerId"] == alpha_image["owner"]
    # beta cannot launch alpha's image, so it may not register its disk either
    assert code_of(beta.register_image, Name="stolen",
                   ImageLocation=alpha_image["store_name"]) == "InvalidParameterValue"
    for location in ("../overcast.db", "nope.qcow2", ".hidden"):
        assert code_of(alpha.register_image, Name="bad-location",
                       ImageLocation=location) == "InvalidParameterValue"
    assert code_of(alpha.register_image, Name="alpha-copy",
                   ImageLocation=alpha_image["store_name"]) == "InvalidAMIName.Duplicate"
    assert code_of(alpha.register_image, Name="bad|name",
                   ImageLocation=alpha_image["store_name"]) == "InvalidAMIName.Malformed"
    assert code_of(alpha.register_image, Name="no-location") == "MissingParameter"
    alpha.deregister_image(ImageId=copy_id)


def test_only_admins_register_host_paths(admin, alpha, tmp_path) -> None:
    disk = make_disk(tmp_path / "host.qcow2")
    assert code_of(alpha.register_image, Name="from-host", ImageLocation=str(disk)) == \
        "UnauthorizedOperation"
    assert code_of(admin.register_image, Name="from-host",
                   ImageLocation=f"file://{disk}", DryRun=True) == "DryRunOperation"
    image_id = admin.register_image(Name="from-host", ImageLocation=f"file://{disk}",
                                    TagSpecifications=[{"ResourceType": "image", "Tags": [
                                        {"Key": "origin", "Value": "host"}]}])["ImageId"]
    found = admin.describe_images(Filters=[{"Name": "tag:origin", "Values": ["host"]}])
    assert [i["ImageId"] for i in found["Images"]] == [image_id]
    overlay = make_disk(tmp_path / "over.qcow2", "qcow2", "16M", "-F", "qcow2", "-b",
                        str(disk))
    assert code_of(admin.register_image, Name="overlay", ImageLocation=str(overlay)) == \
        "InvalidParameterValue"
    assert code_of(admin.register_image, Name="dev", ImageLocation="/dev/zero") == \
        "InvalidParameterValue"
    assert code_of(admin.register_image, Name="remote",
                   ImageLocation="file://elsewhere/x.qcow2") == "InvalidParameterValue"


def test_share_with_an_account_then_reset(alpha, beta, alpha_image, images_cloud) -> None:
    image_id = alpha_image["id"]
    beta_account = _account_of(images_cloud, "beta")
    alpha.modify_image_attribute(ImageId=image_id, LaunchPermission={
        "Add": [{"UserId": beta_account}]})
    perms = alpha.describe_image_attribute(ImageId=image_id, Attribute="launchPermission")
    assert perms["LaunchPermissions"] == [{"UserId": beta_account}]
    shared = beta.describe_images(ExecutableUsers=["self"])["Images"]
    assert [i["ImageId"] for i in shared] == [image_id]
    assert beta.describe_images(Owners=[alpha_image["owner"]])["Images"][0]["ImageId"] == \
        image_id
    assert alpha.describe_images(ExecutableUsers=[beta_account])["Images"][0]["ImageId"] == \
        image_id
    made = beta.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)["Instances"][0]
    beta.terminate_instances(InstanceIds=[made["InstanceId"]])
    # only the owner changes or reads permissions
    assert code_of(beta.modify_image_attribute, ImageId=image_id, LaunchPermission={
        "Add": [{"Group": "all"}]}) == "AuthFailure"
    assert code_of(beta.describe_image_attribute, ImageId=image_id,
                   Attribute="launchPermission") == "AuthFailure"
    alpha.reset_image_attribute(ImageId=image_id, Attribute="launchPermission")
    assert code_of(beta.describe_images, ImageIds=[image_id]) == "InvalidAMIID.NotFound"


def _account_of(cloud: RunningCloud, project: str) -> str:
    out = cloud.overcast("project", "list").stdout
    return next(line.split()[1] for line in out.splitlines() if line.split()[0] == project)


def test_make_public_with_group_all(alpha, beta, alpha_image) -> None:
    image_id = alpha_image["id"]
    alpha.modify_image_attribute(ImageId=image_id, Attribute="launchPermission",
                                 OperationType="add", UserGroups=["all"])
    found = beta.describe_images(ImageIds=[image_id])["Images"][0]
    assert found["Public"] is True
    assert image_id in [i["ImageId"] for i in beta.describe_images(
        ExecutableUsers=["all"], Filters=[{"Name": "is-public", "Values": ["true"]}])["Images"]]
    alpha.modify_image_attribute(ImageId=image_id, LaunchPermission={
        "Remove": [{"Group": "all"}]})
    assert code_of(beta.describe_images, ImageIds=[image_id]) == "InvalidAMIID.NotFound"


def test_bad_launch_permissions(alpha, alpha_image) -> None:
    image_id = alpha_image["id"]
    assert code_of(alpha.modify_image_attribute, ImageId=image_id, LaunchPermission={
        "Add": [{"Group": "everyone"}]}) == "InvalidAMIAttributeItemValue"
    assert code_of(alpha.modify_image_attribute, ImageId=image_id, LaunchPermission={
        "Add": [{"UserId": "not-an-account"}]}) == "InvalidAMIAttributeItemValue"
    assert code_of(alpha.modify_image_attribute, ImageId=image_id,
                   Attribute="kernel", Value="aki-12345678") == "InvalidParameter"
    assert code_of(alpha.modify_image_attribute, ImageId=image_id,
                   Attribute="nonsense") == "InvalidParameterCombination"
    assert code_of(alpha.modify_image_attribute, ImageId=image_id) == \
        "InvalidParameterCombination"
    assert code_of(alpha.modify_image_attribute, ImageId=image_id,
                   Attribute="description") == "MissingParameter"
    assert code_of(alpha.modify_image_attribute, ImageId=image_id,
                   Attribute="launchPermission") == "InvalidParameterCombination"
    assert code_of(alpha.describe_image_attribute, ImageId=image_id,
                   Attribute="nonsense") == "InvalidRequest"
    assert code_of(alpha.reset_image_attribute, ImageId=image_id,
                   Attribute="description") == "InvalidRequest"


def test_description_attribute(alpha, alpha_image) -> None:
    image_id = alpha_image["id"]
    alpha.modify_image_attribute(ImageId=image_id, Description={"Value": "v2"})
    got = alpha.describe_image_attribute(ImageId=image_id, Attribute="description")
    assert got["Description"] == {"Value": "v2"}
    assert alpha.describe_images(ImageIds=[image_id])["Images"][0]["Description"] == "v2"
    mappings = alpha.describe_image_attribute(ImageId=image_id,
                                              Attribute="blockDeviceMapping")
    assert mappings["BlockDeviceMappings"][0]["DeviceName"] == "/dev/xvda"


def test_malformed_versus_missing_ids(alpha) -> None:
    assert code_of(alpha.describe_images, ImageIds=["ami-12"]) == "InvalidAMIID.Malformed"
    assert code_of(alpha.describe_images, ImageIds=["ami-0123456789abcdef0"]) == \
        "InvalidAMIID.NotFound"
    assert code_of(alpha.deregister_image, ImageId="banana") == "InvalidAMIID.Malformed"
    assert code_of(alpha.deregister_image, ImageId="ami-0123456789abcdef0") == \
        "InvalidAMIID.NotFound"
    assert code_of(alpha.describe_images, Owners=["nobody"]) == "InvalidUserID.Malformed"
    assert code_of(alpha.describe_images,
                   Filters=[{"Name": "no-such-filter", "Values": ["x"]}]) == \
        "InvalidParameterValue"
    assert code_of(alpha.describe_images, NextToken="garbage") == "InvalidPaginationToken"


def test_cloud_images_are_not_yours_to_change(alpha) -> None:
    public = alpha.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    assert code_of(alpha.deregister_image, ImageId=public) == "AuthFailure"
    assert code_of(alpha.describe_image_attribute, ImageId=public,
                   Attribute="description") == "AuthFailure"
    assert code_of(alpha.modify_image_attribute, ImageId=public,
                   Description={"Value": "mine now"}) == "AuthFailure"
    assert code_of(alpha.reset_image_attribute, ImageId=public,
                   Attribute="launchPermission") == "AuthFailure"


def test_filters_and_paging(alpha, alpha_image) -> None:
    made = [alpha.register_image(Name=f"paged-{n:02d}",
                                 ImageLocation=alpha_image["store_name"])["ImageId"]
            for n in range(7)]
    by_name = alpha.describe_images(Filters=[{"Name": "name", "Values": ["paged-*"]}])
    assert sorted(i["ImageId"] for i in by_name["Images"]) == sorted(made)
    for name, value in (("owner-id", alpha_image["owner"]), ("state", "available"),
                        ("architecture", "x86_64"), ("image-type", "machine"),
                        ("root-device-type", "ebs"), ("virtualization-type", "hvm"),
                        ("is-public", "false")):
        found = alpha.describe_images(Filters=[{"Name": "name", "Values": ["paged-*"]},
                                               {"Name": name, "Values": [value]}])["Images"]
        assert len(found) == 7, name
    assert alpha.describe_images(Filters=[{"Name": "name", "Values": ["paged-*"]},
                                          {"Name": "owner-alias",
                                           "Values": ["amazon"]}])["Images"] == []
    pages = list(alpha.get_paginator("describe_images").paginate(
        Owners=["self"], PaginationConfig={"PageSize": 5}))
    seen = [i["ImageId"] for p in pages for i in p["Images"]]
    assert len(pages) >= 2 and len(seen) == len(set(seen))
    assert set(made) <= set(seen)
    alpha.deregister_image(ImageId=made[0])
    assert code_of(alpha.describe_images, ImageIds=[made[0]]) == "InvalidAMIID.NotFound"
    assert code_of(alpha.run_instances, ImageId=made[0], MinCount=1, MaxCount=1) == \
        "InvalidAMIID.NotFound"
    # the name is free again once the image is gone
    again = alpha.register_image(Name="paged-00", ImageLocation=alpha_image["store_name"])
    for image_id in [*made[1:], again["ImageId"]]:
        alpha.deregister_image(ImageId=image_id)


def test_image_tags_page_and_clamp_max_results(alpha, alpha_image) -> None:
    image_id = alpha_image["id"]
    alpha.create_tags(Resources=[image_id],
                      Tags=[{"Key": f"k{n}", "Value": "v"} for n in range(7)])
    first = alpha.describe_tags(MaxResults=5, Filters=[
        {"Name": "resource-id", "Values": [image_id]}])
    rest = alpha.describe_tags(NextToken=first["NextToken"], Filters=[
        {"Name": "resource-id", "Values": [image_id]}])
    assert len(first["Tags"]) + len(rest["Tags"]) == 7 and "NextToken" not in rest
    assert {t["ResourceType"] for t in first["Tags"]} == {"image"}
    # EC2 answers at most 1000 tags for a larger MaxResults; below 5 is an error
    assert len(alpha.describe_tags(MaxResults=1100)["Tags"]) >= 7
    assert code_of(alpha.describe_tags, MaxResults=4) == "InvalidParameterValue"
    alpha.delete_tags(Resources=[image_id])


@pytest.mark.parametrize("params", [
    {"Action": "RegisterImage"},
    {"Action": "RegisterImage", "Name": "x" * 300, "ImageLocation": "a"},
    {"Action": "RegisterImage", "Name": "odd", "ImageLocation": "\u00e9\u0000/.."},
    {"Action": "RegisterImage", "Name": "odd", "ImageLocation": "file:"},
    {"Action": "RegisterImage", "Name": "odd", "BlockDeviceMapping.1.DeviceName": "/dev/sda1",
     "BlockDeviceMapping.1.Ebs.SnapshotId": "snap-12345678"},
    {"Action": "RegisterImage", "Name": "odd", "ImageLocation": "a", "Architecture": "arm64"},
    {"Action": "DeregisterImage", "ImageId": ""},
    {"Action": "DescribeImages", "Owner.1": ""},
    {"Action": "DescribeImages", "ExecutableBy.1": "someone"},
    {"Action": "DescribeImages", "ImageId.1": "ami-0123456789abcdef0", "MaxResults": "5"},
    {"Action": "DescribeImages", "Filter.1.Value.1": "x"},
    {"Action": "DescribeImages", "MaxResults": "2"},
    {"Action": "DescribeImageAttribute", "ImageId": "ami-0123456789abcdef0"},
    {"Action": "ModifyImageAttribute", "ImageId": "ami-0123456789abcdef0",
     "LaunchPermission.Add.1.UserId": ""},
    {"Action": "ModifyImageAttribute", "ImageId": "nope", "Description.Value": "d"},
    {"Action": "ModifyImageAttribute", "ImageId": "ami-0123456789abcdef0",
     "OperationType": "sideways", "UserId.1": "123456789012"},
    {"Action": "ModifyImageAttribute", "ImageId": "ami-0123456789abcdef0",
     "Description.Value": "d", "LaunchPermission.Add.1.Group": "all"},
    {"Action": "ResetImageAttribute", "ImageId": "ami-0123456789abcdef0"},
])
def test_bad_image_requests_get_ec2_errors(images_cloud, params) -> None:
    from tests.api.test_errors import error_code, send

    status, body = send(images_cloud, params)
    assert 400 <= status < 500, body
    assert error_code(body) != "InternalError"


def test_import_checks_the_name_before_copying(images_cloud, alpha_image,
                                               tmp_path) -> None:
    store = images_cloud.data_dir / "images" / "store"
    before = sorted(p.name for p in store.iterdir())
    disk = make_disk(tmp_path / "dup.qcow2")
    result = images_cloud.overcast("image", "import", str(disk), "--name", "alpha-base",
                                   "--project", "alpha", check=False)
    assert result.returncode == 1 and "already in use" in result.stderr
    result = images_cloud.overcast("image", "import", str(disk), "--name", "no",
                                   check=False)
    assert result.returncode == 1 and "between 3 and 128" in result.stderr
    assert sorted(p.name for p in store.iterdir()) == before
