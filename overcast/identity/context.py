"""Who is calling: the project every request acts in, and the caller's roles there."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Context:
    project_id: str
    account_id: str
    user_id: str
    is_admin: bool = False
    # the caller's effective roles on the project (implied ones included), when known
    roles: tuple[str, ...] = ()


ADMIN_PROJECT = "admin"


def is_cloud_admin(project_name: str, roles: tuple[str, ...] | list[str]) -> bool:
    """Admin of the whole cloud: the admin role on the admin project."""
    return "admin" in roles and project_name == ADMIN_PROJECT
