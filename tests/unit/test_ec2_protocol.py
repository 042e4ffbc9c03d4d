"""The EC2 Query protocol against botocore's own serializer and parser."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from botocore.utils import percent_encode_sequence

from overcast.api.ec2.protocol import (
    Ec2Error,
    operation_model,
    parse_params,
    serialize_error,
    serialize_response,
)

LAUNCH = datetime(2026, 11, 25, 6, 0, 0, 123000, tzinfo=UTC)


def wire(action: str, params: dict[str, Any]) -> dict[str, str]:
    """The flat form parameters botocore sends for ``action``."""
    request = create_serializer("ec2").serialize_to_request(params, operation_model(action))
    return dict(parse_qsl(percent_encode_sequence(request["body"]), keep_blank_values=True))


def round_trip_request(action: str, params: dict[str, Any]) -> dict[str, Any]:
    return parse_params(operation_model(action), wire(action, params))


def parse_response(action: str, body: bytes, status: int = 200) -> dict[str, Any]:
    op = operation_model(action)
    response = {"body": body, "headers": {}, "status_code": status}
    return create_parser("ec2").parse(response, op.output_shape if status == 200 else None)


def round_trip_response(action: str, result: dict[str, Any]) -> dict[str, Any]:
    parsed = parse_response(action, serialize_response(operation_model(action), result, "r-1"))
    assert parsed.pop("ResponseMetadata")["RequestId"] == "r-1"
    return parsed


# ----------------------------------------------------------------------------- requests

REQUESTS: list[tuple[str, dict[str, Any]]] = [
    (
        "RunInstances",
        {
            "ImageId": "ami-12345678",
            "MinCount": 1,
            "MaxCount": 3,
            "InstanceType": "t3.micro",
            "KeyName": "my key & <stuff>",
            "UserData": "IyEvYmluL3NoCmVjaG8gaGk=",
            "SecurityGroupIds": ["sg-1", "sg-2"],
            "EbsOptimized": False,
            "Placement": {"AvailabilityZone": "zone-a"},
            "BlockDeviceMappings": [
                {
                    "DeviceName": "/dev/sda1",
                    "Ebs": {"VolumeSize": 20, "DeleteOnTermination": True, "VolumeType": "gp3"},
                },
                {"DeviceName": "/dev/sdb", "VirtualName": "ephemeral0"},
            ],
            "TagSpecifications": [
                {
                    "ResourceType": "instance",
                    "Tags": [{"Key": "Name", "Value": "web"}, {"Key": "é/ü", "Value": ""}],
                },
                {"ResourceType": "volume", "Tags": [{"Key": "k", "Value": "v"}]},
            ],
        },
    ),
    (
        "DescribeInstances",
        {
            "Filters": [
                {"Name": "instance-state-name", "Values": ["running", "pending"]},
                {"Name": "tag:Name", "Values": ["web"]},
            ],
            "MaxResults": 50,
            "NextToken": "abc",
        },
    ),
    ("DescribeInstances", {"InstanceIds": ["i-1", "i-2", "i-3"], "DryRun": True}),
    (
        "CreateTags",
        {"Resources": ["i-1", "vol-2"], "Tags": [{"Key": "a", "Value": "b"}, {"Key": "c"}]},
    ),
    ("ImportKeyPair", {"KeyName": "k", "PublicKeyMaterial": b"ssh-ed25519 AAAA\x00\xff me@x"}),
    (
        "AuthorizeSecurityGroupIngress",
        {
            "GroupId": "sg-1",
            "IpPermissions": [
                {
                    "IpProtocol": "tcp",
                    "FromPort": 22,
                    "ToPort": 22,
                    "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "ssh"}],
                    "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
                },
                {
                    "IpProtocol": "-1",
                    "FromPort": -1,
                    "ToPort": -1,
                    "UserIdGroupPairs": [{"GroupId": "sg-2", "UserId": "123"}],
                },
            ],
        },
    ),
    (
        "DescribeSpotPriceHistory",
        {"StartTime": LAUNCH, "EndTime": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)},
    ),
    ("DescribeRegions", {}),
]


@pytest.mark.parametrize(("action", "params"), REQUESTS, ids=[a for a, _ in REQUESTS])
def test_request_round_trip(action: str, params: dict[str, Any]) -> None:
    assert round_trip_request(action, params) == params


def test_wire_names_are_ec2_style() -> None:
    body = wire("RunInstances", REQUESTS[0][1])
    assert body["TagSpecification.1.Tag.2.Key"] == "é/ü"
    assert body["BlockDeviceMapping.1.Ebs.VolumeSize"] == "20"
    assert body["SecurityGroupId.2"] == "sg-2"


def test_ignores_action_version_and_query_auth() -> None:
    params = {
        "Action": "DescribeRegions",
        "Version": "2016-11-15",
        "X-Amz-Signature": "ab",
        "X-Amz-Date": "20260101T000000Z",
        "RegionName.1": "r1",
    }
    assert parse_params(operation_model("DescribeRegions"), params) == {"RegionNames": ["r1"]}


def test_list_order_follows_indices_not_input_order() -> None:
    params = {"InstanceId.10": "c", "InstanceId.2": "b", "InstanceId.1": "a"}
    assert parse_params(operation_model("DescribeInstances"), params) == {
        "InstanceIds": ["a", "b", "c"]
    }


def test_lower_case_location_name_accepted() -> None:
    parsed = parse_params(operation_model("DescribeInstances"), {"instanceId.1": "i-1"})
    assert parsed == {"InstanceIds": ["i-1"]}


def test_unknown_action() -> None:
    with pytest.raises(Ec2Error) as info:
        operation_model("DescribeUnicorns")
    assert info.value.code == "InvalidAction"
    assert info.value.message == "The action DescribeUnicorns is not valid for this web service."
    assert info.value.status == 400


def bad(action: str, params: dict[str, str]) -> Ec2Error:
    with pytest.raises(Ec2Error) as info:
        parse_params(operation_model(action), params)
    return info.value


RUN = {"ImageId": "ami-1", "MinCount": "1", "MaxCount": "1"}


def _typed(params: dict[str, str]) -> dict[str, Any]:
    return {k: int(v) if v.isdigit() else v for k, v in params.items()}


def test_unknown_parameter() -> None:
    err = bad("RunInstances", {**RUN, "Colour": "blue"})
    assert (err.code, err.message) == ("UnknownParameter", "The parameter Colour is not recognized")
    err = bad("RunInstances", {**RUN, "TagSpecification.1.Tag.1.Flavour": "x"})
    assert err.code == "UnknownParameter"
    assert "TagSpecification.1.Tag.1.Flavour" in err.message
    assert bad("RunInstances", {**RUN, "MinCount.1": "2"}).code == "UnknownParameter"
    assert bad("RunInstances", {**RUN, "ImageId.x": "2"}).code == "UnknownParameter"
    assert bad("RunInstances", {**RUN, "A..B": "2"}).code == "UnknownParameter"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MinCount", "abc"),
        ("MinCount", "1.5"),
        ("MinCount", "1_000"),
        ("MinCount", " 1"),
        ("MinCount", "99999999999"),
        ("MinCount", "9" * 5000),
        ("EbsOptimized", "maybe"),
        ("BlockDeviceMapping", "x"),
    ],
)
def test_invalid_values(name: str, value: str) -> None:
    err = bad("RunInstances", {**RUN, name: value})
    assert err.code == "InvalidParameterValue"
    assert err.message.startswith(f"Value ({value[:100]}")
    assert f"for parameter {name} is invalid." in err.message
    assert len(err.message) < 400


def test_booleans_and_blob() -> None:
    op = operation_model("RunInstances")
    assert parse_params(op, {**RUN, "EbsOptimized": "TRUE"})["EbsOptimized"] is True
    err = bad("ImportKeyPair", {"KeyName": "k", "PublicKeyMaterial": "not base64!"})
    assert err.code == "InvalidParameterValue"


def test_bad_timestamp() -> None:
    err = bad("DescribeSpotPriceHistory", {"StartTime": "yesterday"})
    assert err.code == "InvalidParameterValue"


def test_missing_parameters() -> None:
    err = bad("RunInstances", {"ImageId": "ami-1", "MinCount": "1"})
    assert (err.code, err.message) == (
        "MissingParameter",
        "The request must contain the parameter MaxCount",
    )
    err = bad("RunInstances", {**RUN, "ElasticGpuSpecification.1.Foo": "x"})
    assert err.code == "UnknownParameter"
    err = bad("RunInstances", {**RUN, "Monitoring.Enabled": "true", "CreditSpecification.X": "x"})
    assert err.code == "UnknownParameter"
    monitoring = wire("RunInstances", {**_typed(RUN), "Monitoring": {"Enabled": True}})
    del monitoring["Monitoring.Enabled"]
    monitoring["Monitoring.Junk"] = "x"
    assert bad("RunInstances", monitoring).code == "UnknownParameter"
    err = bad(
        "CreateFleet",
        {
            "LaunchTemplateConfigs.1.Overrides.1.Priority": "1",
            "TargetCapacitySpecification.DefaultTargetCapacityType": "spot",
        },
    )
    assert err.code == "MissingParameter"
    assert err.message.endswith("TargetCapacitySpecification.TotalTargetCapacity")


@pytest.mark.parametrize("index", ["01", "-1", "a", "1001", "99999999", "١"])
def test_bad_list_indices(index: str) -> None:
    assert bad("DescribeInstances", {f"InstanceId.{index}": "i-1"}).code == "InvalidParameterValue"


def test_zero_based_list_indices_as_libcloud_sends_them() -> None:
    params = {"ResourceId.0": "i-1", "ResourceId.1": "i-2", "Tag.0.Key": "k", "Tag.0.Value": "v"}
    assert parse_params(operation_model("CreateTags"), params) == {
        "Resources": ["i-1", "i-2"], "Tags": [{"Key": "k", "Value": "v"}]}


def test_unnumbered_name_is_a_list_of_one() -> None:
    assert parse_params(operation_model("DescribeKeyPairs"), {"KeyName": "k1"}) == {
        "KeyNames": ["k1"]}
    assert parse_params(operation_model("DescribeInstances"), {"InstanceId": "i-1"}) == {
        "InstanceIds": ["i-1"]}
    # a list of structures still needs its numbers, and one name cannot be both
    assert bad("DescribeInstances", {"Filter": "x"}).code == "InvalidParameterValue"
    assert bad("DescribeInstances", {"InstanceId": "i-1", "InstanceId.1": "i-2"}).code == \
        "UnknownParameter"


def test_limits() -> None:
    op = operation_model("DescribeInstances")
    ok = {f"InstanceId.{i}": f"i-{i}" for i in range(1, 1001)}
    assert len(parse_params(op, ok)["InstanceIds"]) == 1000
    err = bad("DescribeInstances", {"NextToken": "x" * (16 * 1024 * 1024 + 1)})
    assert err.code == "InvalidParameterValue"
    assert len(err.message) < 400
    deep = ".".join(["Filter", "1"] * 40)
    assert bad("DescribeInstances", {deep: "x"}).code == "UnknownParameter"


def test_model_min_max() -> None:
    op = operation_model("DescribeAddressTransfers")
    assert parse_params(op, {"MaxResults": "5"}) == {"MaxResults": 5}
    for value in ("4", "1001"):
        assert bad("DescribeAddressTransfers", {"MaxResults": value}).code == (
            "InvalidParameterValue"
        )


# ----------------------------------------------------------------------------- responses


def instance(n: int) -> dict[str, Any]:
    return {
        "InstanceId": f"i-{n:017x}",
        "ImageId": "ami-12345678",
        "State": {"Code": 16, "Name": "running"},
        "PrivateDnsName": f"ip-10-0-0-{n % 250}.internal",
        "PublicDnsName": "",
        "KeyName": "key <&> \"'",
        "AmiLaunchIndex": 0,
        "InstanceType": "t3.micro",
        "LaunchTime": LAUNCH,
        "Placement": {"AvailabilityZone": "zone-a", "Tenancy": "default"},
        "Monitoring": {"State": "disabled"},
        "PrivateIpAddress": "10.0.0.5",
        "Architecture": "x86_64",
        "RootDeviceType": "ebs",
        "RootDeviceName": "/dev/sda1",
        "BlockDeviceMappings": [
            {
                "DeviceName": "/dev/sda1",
                "Ebs": {
                    "VolumeId": "vol-1",
                    "Status": "attached",
                    "AttachTime": LAUNCH,
                    "DeleteOnTermination": True,
                },
            }
        ],
        "EbsOptimized": False,
        "SourceDestCheck": True,
        "SecurityGroups": [{"GroupName": "default", "GroupId": "sg-1"}],
        "Tags": [{"Key": "Name", "Value": f"web-{n}"}, {"Key": "ünï", "Value": "ç\u2603"}],
        "CpuOptions": {"CoreCount": 1, "ThreadsPerCore": 2},
        "Hypervisor": "kvm",
        "VirtualizationType": "hvm",
    }


def reservations(count: int) -> dict[str, Any]:
    return {
        "Reservations": [
            {
                "ReservationId": "r-1",
                "OwnerId": "123456789012",
                "Groups": [],
                "Instances": [instance(n) for n in range(count)],
            }
        ],
        "NextToken": "next",
    }


def test_describe_instances_response() -> None:
    result = reservations(3)
    assert round_trip_response("DescribeInstances", result) == result


def test_xml_shape_is_ec2_like() -> None:
    body = serialize_response(operation_model("DescribeInstances"), reservations(1), "req-9")
    text = body.decode()
    assert text.startswith(
        '<?xml version="1.0" encoding="UTF-8"?>\n<DescribeInstancesResponse '
        'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-9</requestId>'
    )
    assert "<reservationSet><item><reservationId>r-1</reservationId>" in text
    assert "<launchTime>2026-11-25T06:00:00.123Z</launchTime>" in text
    assert "<sourceDestCheck>true</sourceDestCheck>" in text
    assert "<keyName>key &lt;&amp;&gt; \"'</keyName>" in text
    assert text.endswith("</DescribeInstancesResponse>")


def test_run_instances_response() -> None:
    result = {
        "ReservationId": "r-2",
        "OwnerId": "123456789012",
        "Groups": [{"GroupName": "default", "GroupId": "sg-1"}],
        "Instances": [instance(7)],
    }
    assert round_trip_response("RunInstances", result) == result


def test_describe_key_pairs_response() -> None:
    result = {
        "KeyPairs": [
            {
                "KeyPairId": "key-1",
                "KeyName": "k",
                "KeyFingerprint": "aa:bb",
                "KeyType": "ed25519",
                "CreateTime": datetime(2026, 1, 1, tzinfo=UTC),
                "Tags": [],
            }
        ]
    }
    assert round_trip_response("DescribeKeyPairs", result) == result


def test_describe_regions_and_console_output() -> None:
    regions = {
        "Regions": [
            {
                "RegionName": "home",
                "Endpoint": "localhost:8788",
                "OptInStatus": "opt-in-not-required",
            }
        ]
    }
    assert round_trip_response("DescribeRegions", regions) == regions
    console = {"InstanceId": "i-1", "Timestamp": LAUNCH, "Output": "Ym9vdGVkCg=="}
    assert round_trip_response("GetConsoleOutput", console) == console


def test_naive_datetime_is_utc_and_controls_are_safe() -> None:
    result = {"InstanceId": "i-1", "Timestamp": datetime(2026, 1, 1), "Output": "a\x00b\r\nc"}
    parsed = round_trip_response("GetConsoleOutput", result)
    assert parsed["Timestamp"] == datetime(2026, 1, 1, tzinfo=UTC)
    assert parsed["Output"] == "ab\r\nc"


def test_none_members_are_omitted() -> None:
    parsed = round_trip_response("GetConsoleOutput", {"InstanceId": "i-1", "Output": None})
    assert parsed == {"InstanceId": "i-1"}


def test_output_less_operation() -> None:
    op = operation_model("CreateTags")
    assert round_trip_response("CreateTags", {}) == {}
    with pytest.raises(ValueError):
        serialize_response(op, {"Return": True}, "r")


@pytest.mark.parametrize(
    "result",
    [
        {"InstanceId": "i-1", "Colour": "x"},
        {"InstanceId": 5},
        {"Timestamp": 12},
        {"Reservations": []},
    ],
)
def test_programming_errors_raise_value_error(result: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        serialize_response(operation_model("GetConsoleOutput"), result, "r")


def test_nested_unknown_key_raises() -> None:
    result = reservations(1)
    result["Reservations"][0]["Instances"][0]["Colour"] = "blue"
    with pytest.raises(ValueError, match="Colour"):
        serialize_response(operation_model("DescribeInstances"), result, "r")


def test_errors_parse_in_botocore() -> None:
    body = serialize_error(
        "InvalidInstanceID.NotFound", "The instance ID 'i-<1>' does not exist", "rq"
    )
    assert body.decode().startswith('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors>')
    parsed = parse_response("DescribeInstances", body, status=400)
    assert parsed["Error"] == {
        "Code": "InvalidInstanceID.NotFound",
        "Message": "The instance ID 'i-<1>' does not exist",
    }
    assert parsed["ResponseMetadata"]["RequestId"] == "rq"


def test_through_a_real_client() -> None:
    """A boto3-style client's request parses and its response is understood."""
    seen: dict[str, Any] = {}

    def answer(request: Any, **_: Any) -> AWSResponse:
        raw = request.body
        text = raw.decode() if isinstance(raw, bytes) else raw
        params = dict(parse_qsl(text, keep_blank_values=True))
        op = operation_model(params["Action"])
        seen.update(parse_params(op, params))
        body = serialize_response(op, reservations(2), "req-1")
        return AWSResponse(request.url, 200, {}, _Raw(body))

    client = botocore.session.get_session().create_client(
        "ec2",
        region_name="home",
        endpoint_url="http://localhost:8788",
        aws_access_key_id="AKID",
        aws_secret_access_key="secret",
    )
    client.meta.events.register("before-send.ec2", answer)
    out = client.describe_instances(Filters=[{"Name": "tag:a b", "Values": ["x/y~z"]}])
    assert seen == {"Filters": [{"Name": "tag:a b", "Values": ["x/y~z"]}]}
    assert out["Reservations"][0]["Instances"][1]["LaunchTime"] == LAUNCH


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> list[bytes]:
        return [self._body]


def test_return_true_where_ec2_answers_it() -> None:
    # void in botocore's model, <return>true</return> in EC2's answer (libcloud reads it)
    body = serialize_response(operation_model("RebootInstances"), {}, "r").decode()
    assert body.endswith("<requestId>r</requestId><return>true</return>"
                         "</RebootInstancesResponse>")
    # modelled with a Return member: filled in when the handler left it out
    assert parse_response("DeleteKeyPair", serialize_response(
        operation_model("DeleteKeyPair"), {"KeyPairId": "key-1"}, "r"))["Return"] is True
    assert parse_response("DeleteKeyPair", serialize_response(
        operation_model("DeleteKeyPair"), {"Return": False}, "r"))["Return"] is False
    # and not on actions that answer with data
    assert "<return>" not in serialize_response(
        operation_model("DescribeKeyPairs"), {"KeyPairs": []}, "r").decode()
