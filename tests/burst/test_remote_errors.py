"""How the ec2 driver sorts remote failures: wait and retry, or fail the launch."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from overcast.drivers.ec2.errors import RemoteRefused, RemoteUnavailable, remote_call
from overcast.drivers.ec2.spec import client_token, remote_key_name


def _client_error(code: str, status: int, message: str = "no") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "RunInstances")


@pytest.mark.parametrize("error", [
    _client_error("RequestLimitExceeded", 503),
    _client_error("InternalError", 500),
    _client_error("Unavailable", 400),
    EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
    ReadTimeoutError(endpoint_url="http://127.0.0.1:9"),
])
def test_down_slow_or_throttling_means_try_again(error: Exception) -> None:
    with pytest.raises(RemoteUnavailable), remote_call("t"):
        raise error


@pytest.mark.parametrize(("code", "reason"), [
    ("InsufficientInstanceCapacity", "Server.InsufficientInstanceCapacity"),
    ("AuthFailure", "Server.InternalError"),
    ("InvalidAMIID.NotFound", "Server.InternalError"),
])
def test_a_refusal_carries_the_remote_words(code: str, reason: str) -> None:
    with pytest.raises(RemoteRefused) as refused, remote_call("aws"):
        raise _client_error(code, 400, "the remote says no")
    assert refused.value.state_reason == (reason, f"burst target aws: {code}: "
                                                  "the remote says no")


def test_tokens_and_key_names_are_stable_and_distinct() -> None:
    token = client_token("oc-1", "i-0123456789abcdef0")
    assert token == client_token("oc-1", "i-0123456789abcdef0")
    assert token != client_token("oc-2", "i-0123456789abcdef0")
    assert len(token) <= 64  # EC2's limit
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    assert remote_key_name(key + " alice") == remote_key_name(key + " bob")
    assert remote_key_name(key) != remote_key_name(key[:-1] + "m")
