"""The one STS action tools call on the EC2 endpoint: GetCallerIdentity.

SDK users who set one endpoint URL for everything (Ansible's amazon.aws modules do) send
STS requests to the same address; the EC2 app answers them when they are signed for `sts`.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from overcast.cloud.service import Cloud
from overcast.identity.context import Context

SERVICE = "sts"
ACTIONS = frozenset({"GetCallerIdentity"})
XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"


def caller_identity(cloud: Cloud, ctx: Context, request_id: str) -> bytes:
    """The GetCallerIdentity response: the key's user as an IAM user ARN in its account."""
    arn = f"arn:aws:iam::{ctx.account_id}:user/{cloud.identity.user_name(ctx.user_id)}"
    return (
        f'<GetCallerIdentityResponse xmlns="{XMLNS}"><GetCallerIdentityResult>'
        f"<Arn>{escape(arn)}</Arn><UserId>{escape(ctx.user_id)}</UserId>"
        f"<Account>{escape(ctx.account_id)}</Account></GetCallerIdentityResult>"
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        f"</GetCallerIdentityResponse>"
    ).encode()


def error(code: str, message: str, request_id: str) -> bytes:
    """An error in the Query protocol's ErrorResponse shape that STS uses."""
    return (
        f'<ErrorResponse xmlns="{XMLNS}"><Error><Type>Sender</Type>'
        f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()
