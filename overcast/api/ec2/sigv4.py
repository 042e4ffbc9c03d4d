"""Server-side AWS Signature Version 4 verification for the EC2 face.

The canonical request and string to sign are built by botocore's own ``SigV4Auth`` so they
match exactly what botocore-based clients sign; only the inputs (the client's signed
headers, its timestamp, its scope) come from the request being verified.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import parse_qsl

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "ec2"
MAX_SKEW = timedelta(minutes=5)
MAX_PRESIGN_EXPIRES = 7 * 24 * 3600
_TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_HEX = frozenset("0123456789abcdef")


@dataclass
class SignedRequest:
    """What the verifier needs from an HTTP request.

    ``path`` is the raw (still percent-encoded) request path and ``query_string`` the raw
    query string, both exactly as they arrived; ``host`` is the Host header the client sent.
    """

    method: str
    host: str
    path: str
    query_string: str
    headers: Mapping[str, str]
    body: bytes = field(default=b"")


class AuthError(Exception):
    """A SigV4 failure, with the EC2 error code and the HTTP status EC2 uses for it."""

    STATUS = {
        "AuthFailure": 401,
        "SignatureDoesNotMatch": 403,
        "IncompleteSignature": 400,
        "RequestExpired": 400,
    }

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status if status is not None else self.STATUS.get(code, 400)


@dataclass
class _Auth:
    """The parts of a SigV4 signature, from the Authorization header or the query."""

    access_key: str
    date: str
    region: str
    signed_headers: list[str]
    signature: str
    timestamp: str
    expires: int | None  # presigned only
    params: list[tuple[str, str]]  # the query parameters that were signed
    service: str = SERVICE


_NOT_VALIDATED = "AWS was not able to validate the provided access credentials"


def _fail(message: str = _NOT_VALIDATED) -> AuthError:
    return AuthError("AuthFailure", message)


def _incomplete(message: str) -> AuthError:
    return AuthError("IncompleteSignature", message)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup that works on plain dicts too."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, found in headers.items():
        if key.lower() == lowered:
            return found
    return None


def _split_scope(credential: str, service: str) -> tuple[str, str, str]:
    parts = credential.split("/")
    if len(parts) != 5 or not all(parts):
        raise _incomplete(
            f"Credential must have exactly 5 slash-delimited elements, e.g. "
            f"keyid/date/region/service/term, got '{credential[:200]}'"
        )
    access_key, date, region, scoped_service, terminator = parts
    if scoped_service != service:
        raise AuthError(
            "SignatureDoesNotMatch",
            f"Credential should be scoped to correct service: '{service}'.",
        )
    if terminator != "aws4_request":
        raise AuthError(
            "SignatureDoesNotMatch",
            "Credential should be scoped with a valid terminator: 'aws4_request'.",
        )
    return access_key, date, region


def _check_signature_format(signature: str, signed_headers: list[str]) -> None:
    if len(signature) != 64 or not _HEX.issuperset(signature):
        raise _incomplete("The request signature is malformed.")
    if "host" not in signed_headers or any(h != h.strip().lower() for h in signed_headers):
        raise _incomplete("SignedHeaders must be lower-case and include 'host'.")


def _from_header(authorization: str, req: SignedRequest, query: list[tuple[str, str]],
                 service: str) -> _Auth:
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise _fail(f"Unsupported authorization type: {algorithm[:40]}")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields[key] = value
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if k not in fields]
    if missing:
        raise _incomplete(
            f"Authorization header requires {', '.join(missing)} parameter(s). "
            f"Authorization={authorization[:200]}"
        )
    timestamp = _header(req.headers, "X-Amz-Date")
    if not timestamp:
        raise _incomplete("Authorization header requires existence of a 'X-Amz-Date' header.")
    access_key, date, region = _split_scope(fields["Credential"], service)
    signed = fields["SignedHeaders"].split(";")
    return _Auth(access_key, date, region, signed, fields["Signature"], timestamp, None, query,
                 service)


def _from_query(query: list[tuple[str, str]], service: str) -> _Auth:
    values = dict(query)
    if values.get("X-Amz-Algorithm") != ALGORITHM:
        raise _fail("Unsupported X-Amz-Algorithm.")
    names = ("X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature")
    missing = [n for n in names if not values.get(n)]
    if missing:
        raise _incomplete(f"Query-string authentication requires {', '.join(missing)}.")
    expires_text = values.get("X-Amz-Expires", str(MAX_PRESIGN_EXPIRES))
    if not expires_text.isascii() or not expires_text.isdigit() or len(expires_text) > 7:
        raise _fail("X-Amz-Expires must be a non-negative integer.")
    expires = int(expires_text)
    if expires > MAX_PRESIGN_EXPIRES:
        raise _fail("X-Amz-Expires must be less than a week (in seconds); that is 604800.")
    access_key, date, region = _split_scope(values["X-Amz-Credential"], service)
    signed = values["X-Amz-SignedHeaders"].split(";")
    params = [(k, v) for k, v in query if k != "X-Amz-Signature"]
    signature = values["X-Amz-Signature"]
    return _Auth(access_key, date, region, signed, signature, values["X-Amz-Date"], expires, params,
                 service)


def _parse_time(timestamp: str) -> datetime:
    try:
        if len(timestamp) != 16:
            raise ValueError(timestamp)
        return datetime.strptime(timestamp, _TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise _incomplete(
            f"X-Amz-Date must be in the ISO 8601 basic format YYYYMMDD'T'HHMMSS'Z', "
            f"got '{timestamp[:40]}'"
        ) from None


def _check_time(auth: _Auth, now: datetime) -> None:
    when = _parse_time(auth.timestamp)
    if auth.date != auth.timestamp[:8]:
        raise AuthError(
            "SignatureDoesNotMatch",
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{auth.date[:20]}' != '{auth.timestamp[:8]}'",
        )
    stamp = now.strftime(_TIMESTAMP_FORMAT)
    if when - now > MAX_SKEW:
        raise AuthError(
            "RequestExpired", f"Request is not yet valid: signed at {auth.timestamp}, now {stamp}."
        )
    limit = timedelta(seconds=auth.expires) if auth.expires is not None else MAX_SKEW
    if now - when > limit:
        raise AuthError(
            "RequestExpired", f"Request has expired: signed at {auth.timestamp}, now {stamp}."
        )


@lru_cache(maxsize=1024)
def _signing_key(secret: str, date: str, region: str, service: str = SERVICE) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


class _VerifyingSigner(SigV4Auth):
    """botocore's SigV4Auth, told which headers the client signed and its signing key."""

    def __init__(self, auth: _Auth, secret: str, req: SignedRequest) -> None:
        super().__init__(Credentials(auth.access_key, secret), auth.service, auth.region)
        self._auth = auth
        self._host = req.host
        self._body = req.body

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        selected = HTTPHeaders()
        for name in self._auth.signed_headers:
            if name == "host":
                selected["host"] = self._host
                continue
            value = request.headers.get(name)
            if value is None:
                raise AuthError(
                    "SignatureDoesNotMatch", f"The signed header '{name[:60]}' is missing."
                )
            selected[name] = value
        return selected

    def payload(self, request: AWSRequest) -> str:
        return hashlib.sha256(self._body).hexdigest()

    def signature(self, string_to_sign: str, request: AWSRequest) -> str:
        key = _signing_key(self.credentials.secret_key, self._auth.date, self._region_name,
                           self._auth.service)
        return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _expected_signature(auth: _Auth, secret: str, req: SignedRequest) -> str:
    path = req.path or "/"
    request = AWSRequest(
        method=req.method.upper(),
        url=f"http://{req.host}{path}",
        headers=dict(req.headers.items()),
        params=auth.params,
    )
    request.context["timestamp"] = auth.timestamp
    signer = _VerifyingSigner(auth, secret, req)
    canonical = signer.canonical_request(request)
    return signer.signature(signer.string_to_sign(request, canonical), request)


def _query_pairs(query_string: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(query_string, keep_blank_values=True, max_num_fields=20000)
    except ValueError:
        raise _fail("The query string is malformed.") from None


def _check_region(auth: _Auth, region: str | None) -> None:
    if region is not None and auth.region != region:
        raise _fail(f"Credential should be scoped to a valid region, not '{auth.region[:64]}'.")


def verify(
    req: SignedRequest,
    lookup_secret: Callable[[str], str | None],
    now: datetime | None = None,
    service: str = SERVICE,
    region: str | None = None,
) -> tuple[str, str]:
    """Check ``req``'s SigV4 signature for ``service`` (``ec2`` unless told) and, given one,
    the cloud's ``region``; return (access key id, region) or raise AuthError."""
    query = _query_pairs(req.query_string)
    authorization = _header(req.headers, "Authorization")
    if authorization:
        auth = _from_header(authorization, req, query, service)
    elif any(k == "X-Amz-Algorithm" for k, _ in query):
        auth = _from_query(query, service)
    else:
        raise _fail()
    _check_region(auth, region)
    _check_signature_format(auth.signature, auth.signed_headers)
    now = now or datetime.now(UTC)
    _check_time(auth, now if now.tzinfo else now.replace(tzinfo=UTC))
    secret = lookup_secret(auth.access_key)
    if secret is None:
        raise _fail()
    expected = _expected_signature(auth, secret, req)
    if not hmac.compare_digest(expected, auth.signature):
        raise AuthError(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. "
            "Consult the service documentation for details.",
        )
    return auth.access_key, auth.region
