"""Domain exceptions. Each carries an EC2-style code (the richest vocabulary we serve) and a
kind that the other faces map to their own status codes."""

from __future__ import annotations


class CloudError(Exception):
    kind = "invalid"  # invalid | not_found | conflict | quota | capacity | forbidden | auth

    def __init__(self, code: str, message: str, *, subject: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.subject = subject  # the ID or name the error is about, for faces that reword it


class InvalidParameter(CloudError):
    kind = "invalid"


class NotFound(CloudError):
    kind = "not_found"


class Conflict(CloudError):
    kind = "conflict"


class QuotaExceeded(CloudError):
    kind = "quota"


class InsufficientCapacity(CloudError):
    kind = "capacity"


class Forbidden(CloudError):
    kind = "forbidden"


class AuthenticationFailed(CloudError):
    kind = "auth"


class TooSmallForImage(InvalidParameter):
    """The instance type has less memory or disk (`subject`) than the image's minimum."""


def invalid(message: str, code: str = "InvalidParameterValue") -> InvalidParameter:
    return InvalidParameter(code, message)


class DryRunOk(Exception):
    """Raised when a DryRun request would have succeeded."""
