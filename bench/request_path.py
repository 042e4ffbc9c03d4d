"""Per-request costs on the EC2 path, in process: serializing a DescribeInstances answer of
1 000 instances from botocore's model, and verifying one SigV4 signature.

    python -m bench.request_path [--rounds 20]

Prints medians over the rounds. These were once printed by unit tests; figures belong here.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from overcast.api.ec2.protocol import operation_model, serialize_response
from overcast.api.ec2.sigv4 import SignedRequest, verify

AKID, SECRET, REGION = "AKIAOVERCASTBENCH000", "bench-secret", "overcast-1"
LAUNCH = datetime(2026, 1, 1, tzinfo=UTC)


def instance(n: int) -> dict[str, Any]:
    return {"InstanceId": f"i-{n:017x}", "ImageId": "ami-12345678",
            "State": {"Code": 16, "Name": "running"}, "InstanceType": "t3.micro",
            "PrivateDnsName": f"ip-172-31-0-{n % 250}.overcast-1.compute.internal",
            "LaunchTime": LAUNCH, "PrivateIpAddress": f"172.31.{n // 250}.{n % 250}",
            "Placement": {"AvailabilityZone": "overcast-1a", "Tenancy": "default"},
            "SecurityGroups": [{"GroupName": "default", "GroupId": "sg-1"}],
            "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {
                "VolumeId": f"vol-{n:017x}", "Status": "attached", "AttachTime": LAUNCH,
                "DeleteOnTermination": True}}],
            "Tags": [{"Key": "Name", "Value": f"web-{n}"}]}


def signed_request() -> SignedRequest:
    request = AWSRequest(method="POST", url="http://127.0.0.1:8773/",
                         data="Action=DescribeInstances&Version=2016-11-15",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    SigV4Auth(Credentials(AKID, SECRET), "ec2", REGION).add_auth(request)
    prepared = request.prepare()
    url = urlsplit(prepared.url)
    return SignedRequest(method="POST", host=url.netloc, path=url.path or "/",
                         query_string=url.query, headers=dict(prepared.headers),
                         body=prepared.body.encode() if isinstance(prepared.body, str)
                         else prepared.body or b"")


def median_ms(work: Callable[[], object], rounds: int, repeat: int = 1) -> float:
    work()  # warm caches
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeat):
            work()
        times.append((time.perf_counter() - start) * 1000 / repeat)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    op = operation_model("DescribeInstances")
    result = {"Reservations": [{"ReservationId": "r-1", "OwnerId": "123456789012",
                                "Groups": [], "Instances": [instance(n) for n in range(1000)]}]}
    body = serialize_response(op, result, "bench")
    serialize = median_ms(lambda: serialize_response(op, result, "bench"), rounds)
    request = signed_request()
    check = median_ms(lambda: verify(request, lambda key: SECRET if key == AKID else None),
                      rounds, repeat=200)
    print(f"DescribeInstances of 1000 serialized: {serialize:.1f} ms ({len(body) // 1024} KiB)")
    print(f"SigV4 verify: {check * 1000:.0f} us per request")


if __name__ == "__main__":
    main()
