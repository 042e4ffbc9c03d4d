"""Who may call what on the EC2 face, by the caller's roles on the project: Describe* and Get*
(and STS GetCallerIdentity) need the reader role, every other action the member role, as the
OpenStack faces ask reader for reading and member for changing. What only a cloud admin may
do is decided by the service layer from Context.is_admin."""

from __future__ import annotations

from overcast.identity.context import Context
from overcast.identity.roles import expand

READ_PREFIXES = ("Describe", "Get")


def ec2_role_needed(action: str) -> str:
    return "reader" if action.startswith(READ_PREFIXES) else "member"


def ec2_allows(ctx: Context, action: str) -> bool:
    return ec2_role_needed(action) in expand(ctx.roles)
