"""Server-side SigV2 verification against requests signed by botocore's own SigV2Auth."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.auth import SigV2Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from overcast.api.ec2.sigv2 import verify
from overcast.api.ec2.sigv4 import AuthError

AKID = "AKIAOVERCAST0000TEST"
SECRET = "s3cr3t/with+odd=chars"
URL = "http://cloud.example:8788/"


def lookup(access_key: str) -> str | None:
    return SECRET if access_key == AKID else None


def _pairs(prepared_body: str | bytes | None, query: str) -> list[tuple[str, str]]:
    body = prepared_body.decode() if isinstance(prepared_body, bytes) else prepared_body or ""
    return parse_qsl(query, keep_blank_values=True) + parse_qsl(body, keep_blank_values=True)


def signed(method: str, params: dict[str, str], secret: str = SECRET,
           url: str = URL) -> tuple[str, str, str, list[tuple[str, str]]]:
    """(method, host, path, parameters) as the server sees a botocore SigV2 request."""
    request = AWSRequest(method=method, url=url, **(
        {"data": dict(params)} if method == "POST" else {"params": dict(params)}))
    SigV2Auth(Credentials(AKID, secret)).add_auth(request)
    prepared = request.prepare()
    split = urlsplit(prepared.url)
    return method, split.netloc, split.path or "/", _pairs(prepared.body, split.query)


def check(req: tuple[str, str, str, list[tuple[str, str]]],
          now: datetime | None = None) -> str:
    method, host, path, pairs = req
    return verify(method, host, path, pairs, lookup, now)


def error(req: tuple[str, str, str, list[tuple[str, str]]],
          now: datetime | None = None) -> AuthError:
    with pytest.raises(AuthError) as info:
        check(req, now)
    return info.value


def replace(req: tuple[str, str, str, list[tuple[str, str]]], name: str,
            value: str | None) -> tuple[str, str, str, list[tuple[str, str]]]:
    method, host, path, pairs = req
    kept = [(k, v) for k, v in pairs if k != name]
    return method, host, path, kept + ([(name, value)] if value is not None else [])


ACTION = {"Action": "DescribeInstances", "Version": "2016-11-15", "InstanceId.1": "i-1"}


def test_get_and_post_verify() -> None:
    assert check(signed("GET", ACTION)) == AKID
    assert check(signed("POST", {**ACTION, "Filter.1.Value.1": "a b+c/ü~*"})) == AKID


def test_hmac_sha1() -> None:
    params = {**ACTION, "AWSAccessKeyId": AKID, "SignatureVersion": "2",
              "SignatureMethod": "HmacSHA1",
              "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    # botocore builds the canonical query; only the digest differs from its HmacSHA256
    request = AWSRequest(method="GET", url=URL, params=params)
    query, _ = SigV2Auth(Credentials(AKID, SECRET)).calc_signature(request, params)
    text = f"GET\ncloud.example:8788\n/\n{query}"
    signature = base64.b64encode(
        hmac.new(SECRET.encode(), text.encode(), hashlib.sha1).digest()).decode()
    pairs = [*params.items(), ("Signature", signature)]
    assert check(("GET", "cloud.example:8788", "/", pairs)) == AKID
    sha256_named = replace(("GET", "cloud.example:8788", "/", pairs), "SignatureMethod",
                           "HmacSHA256")
    assert error(sha256_named).code == "SignatureDoesNotMatch"


def test_bad_signature_and_tampering() -> None:
    assert error(signed("GET", ACTION, secret="wrong")).code == "SignatureDoesNotMatch"
    assert error(signed("GET", ACTION, secret="wrong")).status == 403
    assert error(replace(signed("GET", ACTION), "InstanceId.1", "i-2")).code == \
        "SignatureDoesNotMatch"
    method, host, path, pairs = signed("POST", ACTION)
    assert error(("GET", host, path, pairs)).code == "SignatureDoesNotMatch"
    assert error((method, "other:8788", path, pairs)).code == "SignatureDoesNotMatch"
    assert error((method, host, "/x", pairs)).code == "SignatureDoesNotMatch"


def test_unknown_key() -> None:
    err = error(replace(signed("GET", ACTION), "AWSAccessKeyId", "AKIANOBODY"))
    assert (err.code, err.status) == ("AuthFailure", 401)


def test_expired_and_future_timestamps() -> None:
    req = signed("GET", ACTION)
    now = datetime.now(UTC)
    assert check(req, now + timedelta(minutes=14)) == AKID
    late = error(req, now + timedelta(minutes=16))
    assert (late.code, late.status) == ("RequestExpired", 400)
    assert error(req, now - timedelta(minutes=16)).code == "RequestExpired"


def test_expires_instead_of_timestamp() -> None:
    now = datetime.now(UTC)
    until = (now + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    params = {**ACTION, "AWSAccessKeyId": AKID, "SignatureVersion": "2",
              "SignatureMethod": "HmacSHA256", "Expires": until}
    request = AWSRequest(method="GET", url=URL, params=params)
    query, signature = SigV2Auth(Credentials(AKID, SECRET)).calc_signature(request, params)
    req = ("GET", "cloud.example:8788", "/", [*params.items(), ("Signature", signature)])
    assert check(req, now) == AKID
    assert error(req, now + timedelta(minutes=6)).code == "RequestExpired"
    both = replace(req, "Timestamp", until)
    assert error(both, now).code == "InvalidParameterCombination"


@pytest.mark.parametrize(("name", "value", "code"), [
    ("SignatureVersion", "1", "InvalidParameterValue"),
    ("SignatureMethod", "HmacMD5", "InvalidParameterValue"),
    ("SignatureMethod", None, "MissingParameter"),
    ("Signature", None, "MissingParameter"),
    ("AWSAccessKeyId", None, "MissingParameter"),
    ("Timestamp", None, "MissingParameter"),
    ("Timestamp", "yesterday", "InvalidParameterValue"),
])
def test_malformed(name: str, value: str | None, code: str) -> None:
    err = error(replace(signed("GET", ACTION), name, value))
    assert err.code == code
    assert name in err.message
