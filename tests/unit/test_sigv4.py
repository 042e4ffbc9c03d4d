"""Server-side SigV4 verification against requests signed by botocore itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from overcast.api.ec2.sigv4 import AuthError, SignedRequest, verify

AKID = "AKIAOVERCAST0000TEST"
SECRET = "s3cr3t/with+odd=chars"
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def lookup(access_key: str) -> str | None:
    return SECRET if access_key == AKID else None


def to_signed(request: AWSRequest) -> SignedRequest:
    """What a server would see for the request botocore is about to send."""
    prepared = request.prepare()
    url = urlsplit(prepared.url)
    body = prepared.body or b""
    return SignedRequest(
        method=prepared.method,
        host=url.netloc,
        path=url.path or "/",
        query_string=url.query,
        headers=dict(prepared.headers.items()),
        body=body.encode() if isinstance(body, str) else body,
    )


def signed_post(
    body: str = "Action=DescribeInstances&Version=2016-11-15",
    url: str = "http://localhost:8788/",
    region: str = "us-east-1",
    service: str = "ec2",
    secret: str = SECRET,
) -> SignedRequest:
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": FORM})
    SigV4Auth(Credentials(AKID, secret), service, region).add_auth(request)
    return to_signed(request)


def signed_get(params: dict[str, str], url: str = "http://cloud.example:8788/") -> SignedRequest:
    request = AWSRequest(method="GET", url=url, params=params)
    SigV4Auth(Credentials(AKID, SECRET), "ec2", "home").add_auth(request)
    return to_signed(request)


def presigned(params: dict[str, str], expires: int = 60) -> SignedRequest:
    request = AWSRequest(method="GET", url="http://127.0.0.1:8788/", params=params)
    SigV4QueryAuth(Credentials(AKID, SECRET), "ec2", "eu-west-9", expires=expires).add_auth(request)
    return to_signed(request)


def error(req: SignedRequest, now: datetime | None = None) -> AuthError:
    with pytest.raises(AuthError) as info:
        verify(req, lookup, now)
    return info.value


def with_headers(req: SignedRequest, **changes: Any) -> SignedRequest:
    headers = dict(req.headers)
    for name, value in changes.items():
        name = name.replace("_", "-")
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return SignedRequest(req.method, req.host, req.path, req.query_string, headers, req.body)


def replace(req: SignedRequest, **changes: Any) -> SignedRequest:
    fields = {**req.__dict__, **changes}
    return SignedRequest(**fields)


# ----------------------------------------------------------------------------- good


def test_post_form() -> None:
    assert verify(signed_post(), lookup) == (AKID, "us-east-1")


def test_any_region_and_host_with_port() -> None:
    req = signed_post(url="http://10.1.2.3:31337/", region="my-private-cloud-1")
    assert req.host == "10.1.2.3:31337"
    assert verify(req, lookup) == (AKID, "my-private-cloud-1")


def test_default_port_left_out() -> None:
    req = signed_post(url="http://cloud.example:80/")
    assert verify(replace(req, host="cloud.example"), lookup)[0] == AKID


def test_get_with_special_characters() -> None:
    params = {
        "Action": "DescribeInstances",
        "Version": "2016-11-15",
        "Filter.1.Name": "tag:Name with spaces",
        "Filter.1.Value.1": "a/b~c+d=e&f",
        "Filter.1.Value.2": "ünïcödé ☃",
        "Filter.1.Value.3": "",
    }
    req = signed_get(params)
    assert "%2F" in req.query_string
    assert verify(req, lookup) == (AKID, "home")


def test_body_with_unicode_and_plus() -> None:
    body = "Action=CreateTags&Version=2016-11-15&Tag.1.Key=a%2Bb&Tag.1.Value=%C3%BC+x"
    assert verify(signed_post(body=body), lookup)[0] == AKID


def test_presigned_query() -> None:
    req = presigned({"Action": "DescribeRegions", "Version": "2016-11-15", "X": "a b/c"})
    assert "Authorization" not in req.headers
    assert "X-Amz-Signature=" in req.query_string
    assert verify(req, lookup) == (AKID, "eu-west-9")


def test_explicit_content_sha256_header() -> None:
    request = AWSRequest(
        method="POST",
        url="http://localhost/",
        data="Action=DescribeRegions",
        headers={"Content-Type": FORM, "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"},
    )
    SigV4Auth(Credentials(AKID, SECRET), "ec2", "r").add_auth(request)
    req = to_signed(request)
    assert verify(replace(req, body=b"Action=Other"), lookup)[0] == AKID


def test_signing_key_cache_respects_secret() -> None:
    req = signed_post(secret="other-secret")
    assert error(req).code == "SignatureDoesNotMatch"
    assert verify(req, lambda _: "other-secret")[0] == AKID


# ----------------------------------------------------------------------------- tampering


def test_tampered_body() -> None:
    req = signed_post()
    err = error(replace(req, body=req.body + b"&DryRun=true"))
    assert (err.code, err.status) == ("SignatureDoesNotMatch", 403)


def test_tampered_query() -> None:
    req = signed_get({"Action": "DescribeInstances", "InstanceId.1": "i-1"})
    tampered = req.query_string.replace("i-1", "i-2")
    assert error(replace(req, query_string=tampered)).code == "SignatureDoesNotMatch"
    assert error(replace(req, query_string=req.query_string + "&x=1")).code == (
        "SignatureDoesNotMatch"
    )


def test_tampered_header_host_path_method() -> None:
    req = signed_post()
    assert error(with_headers(req, Content_Type="text/plain")).code == "SignatureDoesNotMatch"
    assert error(replace(req, host="evil:8788")).code == "SignatureDoesNotMatch"
    assert error(replace(req, path="/other")).code == "SignatureDoesNotMatch"
    assert error(replace(req, method="PUT")).code == "SignatureDoesNotMatch"


def test_tampered_presigned() -> None:
    req = presigned({"Action": "DescribeRegions"})
    tampered = req.query_string.replace("DescribeRegions", "DescribeInstances")
    assert error(replace(req, query_string=tampered)).code == "SignatureDoesNotMatch"


def test_unsigned_headers_may_change() -> None:
    req = with_headers(signed_post(), User_Agent="something-else")
    assert verify(req, lookup)[0] == AKID


def test_signed_header_missing() -> None:
    req = with_headers(signed_post(), Content_Type=None)
    assert error(req).code == "SignatureDoesNotMatch"


# ----------------------------------------------------------------------------- credentials


def test_no_auth() -> None:
    req = SignedRequest("POST", "localhost", "/", "", {"Content-Type": FORM}, b"Action=X")
    err = error(req)
    assert (err.code, err.status) == ("AuthFailure", 401)
    assert err.message == "AWS was not able to validate the provided access credentials"


def test_unknown_key() -> None:
    req = signed_post()
    with pytest.raises(AuthError) as info:
        verify(req, lambda _: None)
    assert info.value.code == "AuthFailure"


def test_wrong_service_in_scope() -> None:
    assert error(signed_post(service="s3")).code == "SignatureDoesNotMatch"


@pytest.mark.parametrize(
    "authorization",
    [
        "AWS4-HMAC-SHA256 Credential=A/20260101/r/ec2, SignedHeaders=host, Signature=" + "a" * 64,
        "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=" + "a" * 64,
        "AWS4-HMAC-SHA256 Credential=AKID/20260101/r/ec2/aws4_request, SignedHeaders=host",
        "AWS4-HMAC-SHA256 Credential=A/20260101/r/ec2/aws4_request, SignedHeaders=host, "
        "Signature=xyz",
        "AWS4-HMAC-SHA256 Credential=A/20260101/r/ec2/aws4_request, SignedHeaders=x-amz-date, "
        "Signature=" + "a" * 64,
        "AWS4-HMAC-SHA256 garbage",
    ],
)
def test_malformed_authorization(authorization: str) -> None:
    req = with_headers(signed_post(), Authorization=authorization)
    assert error(req).code == "IncompleteSignature"


def test_other_algorithm() -> None:
    req = with_headers(signed_post(), Authorization="AWS AKID:c2lnbmF0dXJl")
    assert error(req).code == "AuthFailure"


def test_missing_or_bad_date() -> None:
    req = signed_post()
    assert error(with_headers(req, X_Amz_Date=None)).code == "IncompleteSignature"
    assert error(with_headers(req, X_Amz_Date="yesterday")).code == "IncompleteSignature"
    other_day = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y%m%dT%H%M%SZ")
    assert error(with_headers(req, X_Amz_Date=other_day)).code in (
        "SignatureDoesNotMatch",
        "RequestExpired",
    )


# ----------------------------------------------------------------------------- time


def test_clock_skew() -> None:
    req = signed_post()
    now = datetime.now(UTC)
    assert verify(req, lookup, now + timedelta(minutes=4))[0] == AKID
    assert verify(req, lookup, now - timedelta(minutes=4))[0] == AKID
    late = error(req, now + timedelta(minutes=6))
    assert (late.code, late.status) == ("RequestExpired", 400)
    early = error(req, now - timedelta(minutes=6))  # the request is from the future
    assert early.code == "RequestExpired"


def test_presigned_expiry() -> None:
    req = presigned({"Action": "DescribeRegions"}, expires=600)
    now = datetime.now(UTC)
    assert verify(req, lookup, now + timedelta(minutes=9))[0] == AKID
    assert error(req, now + timedelta(minutes=11)).code == "RequestExpired"
    assert error(req, now - timedelta(minutes=6)).code == "RequestExpired"


def test_presigned_missing_parts() -> None:
    req = presigned({"Action": "DescribeRegions"})
    without_signature = "&".join(
        p for p in req.query_string.split("&") if not p.startswith("X-Amz-Signature=")
    )
    assert error(replace(req, query_string=without_signature)).code == "IncompleteSignature"
    too_long = req.query_string.replace("X-Amz-Expires=60", "X-Amz-Expires=999999")
    assert error(replace(req, query_string=too_long)).code == "AuthFailure"


def test_real_client_requests_verify() -> None:
    """Requests exactly as a botocore EC2 client sends them (POST and query-signed GET)."""
    import botocore.session
    from botocore.awsrequest import AWSResponse

    seen: list[tuple[str, str]] = []

    class Raw:
        def stream(self, **_: Any) -> list[bytes]:
            return [b"<DescribeRegionsResponse><requestId>1</requestId></DescribeRegionsResponse>"]

    def answer(request: Any, **_: Any) -> AWSResponse:
        url = urlsplit(request.url)
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        body = request.body or b""
        signed = SignedRequest(
            request.method,
            url.netloc,
            url.path,
            url.query,
            headers,
            body.encode() if isinstance(body, str) else body,
        )
        seen.append(verify(signed, lookup))
        return AWSResponse(request.url, 200, {}, Raw())

    client = botocore.session.get_session().create_client(
        "ec2",
        region_name="zone-51",
        endpoint_url="http://localhost:8788",
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
    )
    client.meta.events.register("before-send.ec2", answer)
    client.describe_regions(RegionNames=["a b", "ü/~"])
    assert seen == [(AKID, "zone-51")]
