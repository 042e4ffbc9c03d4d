"""Bad input and bad credentials get EC2's own error codes, as XML, never a 500."""

from __future__ import annotations

import datetime as dt
import re
import urllib.error
import urllib.parse
import urllib.request
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def send(cloud, params: dict[str, str], creds: dict[str, str] | None = None,
         when: dt.datetime | None = None, secret: str | None = None,
         sign: bool = True) -> tuple[int, str]:
    creds = creds or cloud.credentials
    body = urllib.parse.urlencode({"Version": "2016-11-15", **params})
    request = AWSRequest("POST", cloud.endpoint + "/", data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    if sign:
        key = Credentials(creds["AWS_ACCESS_KEY_ID"], secret or creds["AWS_SECRET_ACCESS_KEY"])
        signer = SigV4Auth(key, "ec2", creds["AWS_DEFAULT_REGION"])
        with mock.patch("botocore.auth.get_current_datetime",
                        return_value=(when or dt.datetime.now(dt.UTC)).replace(tzinfo=None)):
            signer.add_auth(request)
    prepared = request.prepare()
    http = urllib.request.Request(prepared.url, data=prepared.body.encode()
                                  if isinstance(prepared.body, str) else prepared.body,
                                  headers=dict(prepared.headers), method="POST")
    try:
        with urllib.request.urlopen(http, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def error_code(body: str) -> str:
    match = re.search(r"<Code>([^<]+)</Code>", body)
    assert match, body
    assert "<RequestID>" in body
    return match.group(1)


@pytest.mark.parametrize(("params", "code"), [
    ({"Action": "NoSuchThing"}, "InvalidAction"),
    ({}, "MissingAction"),
    ({"Action": "RunInstances", "ImageId": "ami-0000000000000000a", "MinCount": "abc",
      "MaxCount": "1"}, "InvalidParameterValue"),
    ({"Action": "RunInstances", "ImageId": "ami-0000000000000000a", "MinCount": "1",
      "MaxCount": "99999999999999999999"}, "InvalidParameterValue"),
    ({"Action": "RunInstances", "ImageId": "bogus", "MinCount": "1", "MaxCount": "1"},
     "InvalidAMIID.Malformed"),
    ({"Action": "RunInstances", "ImageId": "ami-0000000000000000a", "MinCount": "1"},
     "MissingParameter"),
    ({"Action": "RunInstances", "ImageId": "ami-0000000000000000a", "MinCount": "3",
      "MaxCount": "1"}, "InvalidParameterValue"),
    ({"Action": "RunInstances", "ImageId": "ami-0000000000000000a", "MinCount": "0",
      "MaxCount": "1"}, "InvalidParameterValue"),
    ({"Action": "DescribeInstances", "Bogus": "1"}, "UnknownParameter"),
    ({"Action": "DescribeInstances", "InstanceId.1": "i-nothex"}, "InvalidInstanceID.Malformed"),
    ({"Action": "DescribeInstances", "InstanceId.1": "i-0123456789abcdef0"},
     "InvalidInstanceID.NotFound"),
    ({"Action": "DescribeInstances", "MaxResults": "100000"}, "InvalidParameterValue"),
    ({"Action": "StopInstances", "InstanceId.1": "x" * 5000}, "InvalidInstanceID.Malformed"),
    ({"Action": "StopInstances"}, "MissingParameter"),
    ({"Action": "DescribeKeyPairs", "KeyName.1": "nope"}, "InvalidKeyPair.NotFound"),
    ({"Action": "ImportKeyPair", "KeyName": "bad", "PublicKeyMaterial": "bm90IGEga2V5"},
     "InvalidKey.Format"),
    ({"Action": "CreateKeyPair", "KeyName": "k", "KeyType": "dsa"}, "InvalidParameterValue"),
    ({"Action": "CreateTags", "ResourceId.1": "i-0123456789abcdef0", "Tag.1.Key": "a",
      "Tag.1.Value": "b"}, "InvalidInstanceID.NotFound"),
    ({"Action": "CreateTags", "ResourceId.1": "vol-0123456789abcdef0", "Tag.1.Key": "aws:x",
      "Tag.1.Value": "b"}, "InvalidParameterValue"),
    ({"Action": "DescribeImages", "ImageId.1": "ami-0123456789abcdef0"}, "InvalidAMIID.NotFound"),
    ({"Action": "DescribeInstanceTypes", "InstanceType.1": "z9.huge"}, "InvalidInstanceType"),
    ({"Action": "CreateTags", "ResourceId.1": "i-0123456789abcdef0", "Tag.1.Key": "k",
      "Tag.1.Value": "y" * 70000}, "InvalidParameterValue"),
    ({"Action": "RunInstances", "ImageId": "ami-0000000000000000a", "MinCount": "1",
      "MaxCount": "1", "UserData": "%%%not base64"}, "InvalidParameterValue"),
])
def test_bad_input_gets_a_400_with_the_documented_code(cloud, params, code) -> None:
    status, body = send(cloud, params)
    assert (status, error_code(body)) == (400, code), body


def test_huge_user_data_is_refused(cloud, ec2, image_id) -> None:
    import base64

    status, body = send(cloud, {"Action": "RunInstances", "ImageId": image_id, "MinCount": "1",
                                "MaxCount": "1",
                                "UserData": base64.b64encode(b"x" * 20000).decode()})
    assert (status, error_code(body)) == (400, "InvalidParameterValue")


def test_unknown_access_key(cloud) -> None:
    creds = {**cloud.credentials, "AWS_ACCESS_KEY_ID": "AKIANOSUCHKEY0000000"}
    status, body = send(cloud, {"Action": "DescribeRegions"}, creds)
    assert error_code(body) == "AuthFailure"
    assert status in (400, 401)


def test_wrong_secret(cloud) -> None:
    status, body = send(cloud, {"Action": "DescribeRegions"}, secret="wrong" * 8)
    assert error_code(body) == "SignatureDoesNotMatch"
    assert status in (400, 403)


def test_unsigned_request(cloud) -> None:
    status, body = send(cloud, {"Action": "DescribeRegions"}, sign=False)
    assert error_code(body) == "AuthFailure"


@pytest.mark.parametrize("skew", [dt.timedelta(minutes=-6), dt.timedelta(minutes=6)])
def test_clock_skew_is_refused(cloud, skew) -> None:
    when = dt.datetime.now(dt.UTC) + skew
    status, body = send(cloud, {"Action": "DescribeRegions"}, when=when)
    assert (status, error_code(body)) == (400, "RequestExpired")


def test_small_skew_is_fine(cloud) -> None:
    when = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=4)
    status, body = send(cloud, {"Action": "DescribeRegions"}, when=when)
    assert status == 200, body
    assert "<regionName>" in body


def test_any_region_name_in_the_scope(cloud) -> None:
    creds = {**cloud.credentials, "AWS_DEFAULT_REGION": "eu-west-3"}
    status, body = send(cloud, {"Action": "DescribeAvailabilityZones"}, creds)
    assert status == 200, body


def test_get_query_requests_work(cloud) -> None:
    creds = cloud.credentials
    query = urllib.parse.urlencode({"Action": "DescribeRegions", "Version": "2016-11-15"})
    request = AWSRequest("GET", f"{cloud.endpoint}/?{query}")
    SigV4Auth(Credentials(creds["AWS_ACCESS_KEY_ID"], creds["AWS_SECRET_ACCESS_KEY"]), "ec2",
              "x").add_auth(request)
    prepared = request.prepare()
    with urllib.request.urlopen(urllib.request.Request(prepared.url,
                                                       headers=dict(prepared.headers))) as resp:
        assert "<regionName>" in resp.read().decode()
