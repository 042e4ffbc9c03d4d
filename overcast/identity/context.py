"""Who is calling: the project every request acts in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Context:
    project_id: str
    account_id: str
    user_id: str
    is_admin: bool = False
