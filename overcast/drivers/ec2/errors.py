"""Remote failures in two kinds: try again later (the remote is down, slow or throttling),
or a refusal that retrying will not change (capacity, credentials, an unknown AMI)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from overcast.drivers.base import DriverError

RETRYABLE_CODES = {
    "RequestLimitExceeded", "Throttling", "ThrottlingException", "InternalError",
    "InternalFailure", "ServiceUnavailable", "Unavailable", "RequestTimeout",
}
CAPACITY_CODES = {"InsufficientInstanceCapacity", "InsufficientCapacity",
                  "InstanceLimitExceeded", "VcpuLimitExceeded"}


class RemoteUnavailable(Exception):
    """The remote did not answer usefully; the same call may work later."""


class RemoteRefused(DriverError):
    """The remote said no. `code` and `remote_message` are the remote's own words."""

    def __init__(self, target: str, code: str, message: str) -> None:
        super().__init__(f"burst target {target}: {code}: {message}")
        self.code = code
        self.remote_message = message

    @property
    def state_reason(self) -> tuple[str, str]:
        """(StateReason code, message) for an instance that could not launch."""
        kind = ("Server.InsufficientInstanceCapacity" if self.code in CAPACITY_CODES
                else "Server.InternalError")
        return kind, str(self)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def remote_call(target: str) -> Iterator[None]:
    """Turn botocore's errors into RemoteUnavailable or RemoteRefused."""
    try:
        yield
    except ClientError as exc:
        code = error_code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        message = str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
        if code in RETRYABLE_CODES or status >= 500:
            raise RemoteUnavailable(f"burst target {target}: {code}: {message}") from exc
        raise RemoteRefused(target, code, message) from exc
    except BotoCoreError as exc:  # connection refused, timeouts, a closed connection
        raise RemoteUnavailable(f"burst target {target}: {exc}") from exc
