"""Server-side AWS Signature Version 2 verification for the EC2 face.

The older Query signing that apache-libcloud's EC2 driver (and other EC2-compatible-cloud
clients) use by default: the parameters carry ``AWSAccessKeyId``, ``SignatureVersion=2``,
``SignatureMethod`` (HmacSHA256 or HmacSHA1), ``Timestamp`` or ``Expires`` and ``Signature``,
the base64 HMAC of::

    METHOD \\n host (lower case, with a non-default port) \\n path \\n canonical query

where the canonical query is every other parameter (query string and form body alike), sorted
by name, percent-encoded with only ``A-Za-z0-9-_.~`` left as they are.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from overcast.api.ec2.sigv4 import AuthError

# The parameters that carry the signature itself: never passed on to the action.
AUTH_PARAMS = frozenset({"AWSAccessKeyId", "SignatureVersion", "SignatureMethod", "Signature",
                         "Timestamp", "Expires"})
DIGESTS = {"HmacSHA256": hashlib.sha256, "HmacSHA1": hashlib.sha1}
# A Timestamp is good for 15 minutes either side of now, as AWS documents for SigV2; an
# Expires time is good until then (and may not be further ahead than that window either).
MAX_SKEW = timedelta(minutes=15)
_MISMATCH = ("The request signature we calculated does not match the signature you provided. "
             "Check your AWS Secret Access Key and signing method. "
             "Consult the service documentation for details.")


def is_sigv2(params: Sequence[tuple[str, str]]) -> bool:
    """Whether a request without an Authorization header is signed the SigV2 way."""
    return any(name in ("SignatureVersion", "AWSAccessKeyId") for name, _ in params)


def _missing(name: str) -> AuthError:
    return AuthError("MissingParameter", f"The request must contain the parameter {name}", 400)


def _bad_value(name: str, value: str, why: str) -> AuthError:
    return AuthError("InvalidParameterValue",
                     f"Value ({value[:60]}) for parameter {name} is invalid. {why}", 400)


def _single(params: Sequence[tuple[str, str]], name: str) -> str | None:
    found = [value for key, value in params if key == name]
    if len(found) > 1:
        raise AuthError("InvalidParameterValue", f"The parameter {name} is given twice.", 400)
    return found[0] if found else None


def _parse_time(name: str, value: str) -> datetime:
    text = value.replace("Z", "+00:00") if value.endswith("Z") else value
    try:
        when = datetime.fromisoformat(text) if len(text) <= 40 else None
    except ValueError:
        when = None
    if when is None:
        raise _bad_value(name, value, "Expected an ISO 8601 date and time, such as "
                         "2026-12-04T18:00:00Z.")
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _check_time(params: Sequence[tuple[str, str]], now: datetime) -> None:
    timestamp, expires = _single(params, "Timestamp"), _single(params, "Expires")
    if timestamp is not None and expires is not None:
        raise AuthError("InvalidParameterCombination",
                        "The parameters Timestamp and Expires cannot be used together.", 400)
    if timestamp is None and expires is None:
        raise _missing("Timestamp")
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    if timestamp is not None:
        when = _parse_time("Timestamp", timestamp)
        if abs(now - when) > MAX_SKEW:
            raise AuthError("RequestExpired", f"Request has expired: Timestamp {timestamp[:40]} "
                            f"is more than 15 minutes from now ({stamp}).")
        return
    assert expires is not None
    until = _parse_time("Expires", expires)
    if now > until:
        raise AuthError("RequestExpired", f"Request has expired: Expires {expires[:40]}, "
                        f"now {stamp}.")
    if until - now > MAX_SKEW:
        raise AuthError("RequestExpired", f"Expires {expires[:40]} is more than 15 minutes "
                        f"ahead of now ({stamp}).")


def _encode(text: str) -> str:
    return quote(text, safe="-_.~")


def string_to_sign(method: str, host: str, path: str,
                   params: Sequence[tuple[str, str]]) -> str:
    signed = sorted((k, v) for k, v in params if k != "Signature")
    query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in signed)
    return "\n".join((method.upper(), host.lower(), path or "/", query))


def sign(secret: str, method_name: str, text: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), text.encode("utf-8"), DIGESTS[method_name])
    return base64.b64encode(digest.digest()).decode("ascii")


def verify(method: str, host: str, path: str, params: Sequence[tuple[str, str]],
           lookup_secret: Callable[[str], str | None], now: datetime | None = None) -> str:
    """Check a SigV2-signed request's parameters (query and form body together); return the
    access key ID or raise AuthError with EC2's code for what is wrong."""
    version = _single(params, "SignatureVersion")
    if version is None:
        raise _missing("SignatureVersion")
    if version != "2":
        raise _bad_value("SignatureVersion", version, "Only signature versions 2 and 4 are "
                         "supported.")
    method_name = _single(params, "SignatureMethod")
    if method_name is None:
        raise _missing("SignatureMethod")
    if method_name not in DIGESTS:
        raise _bad_value("SignatureMethod", method_name, "Use HmacSHA256 or HmacSHA1.")
    access_key = _single(params, "AWSAccessKeyId")
    if not access_key:
        raise _missing("AWSAccessKeyId")
    signature = _single(params, "Signature")
    if not signature:
        raise _missing("Signature")
    _check_time(params, now or datetime.now(UTC))
    secret = lookup_secret(access_key)
    if secret is None:
        raise AuthError("AuthFailure", "AWS was not able to validate the provided access "
                        "credentials")
    expected = sign(secret, method_name, string_to_sign(method, host, path, params))
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise AuthError("SignatureDoesNotMatch", _MISMATCH)
    return access_key
