"""Password logins for the dashboard: a Keystone token issued as the password method issues
one, scoped to a project the user holds a role on, and moved to another project by issuing a
new token and revoking the old."""

from __future__ import annotations

from overcast.errors import NotFound
from overcast.identity.records import ProjectRecord, UserRecord
from overcast.identity.roles import Roles
from overcast.identity.tokens import Scope, TokenRequest, Tokens


class Logins:
    def __init__(self, roles: Roles, tokens: Tokens) -> None:
        self.roles = roles
        self.tokens = tokens

    def log_in(self, user_name: str, password: str) -> tuple[str, Scope] | None:
        """A token for the user in its home project (else its first), or None when the name
        or the password is wrong or the user holds no role on any project."""
        try:
            user = self.roles.user(user_name)
        except NotFound:
            return None
        if not self.roles.check_password(user, password):
            return None
        return self._issue(user, user.project_id)

    def switch(self, scope: Scope, token: str, project_id: str) -> tuple[str, Scope] | None:
        """A token for another project the user holds a role on (None if none); the old
        token is revoked."""
        if project_id not in {p.id for p in self.projects(scope)}:
            return None
        issued = self._issue(scope.user, project_id)
        if issued is not None:
            self.tokens.revoke(token)
        return issued

    def projects(self, scope: Scope) -> list[ProjectRecord]:
        return self.roles.projects_of(scope.user)

    def _issue(self, user: UserRecord, project_id: str) -> tuple[str, Scope] | None:
        projects = {p.id: p for p in self.roles.projects_of(user)}
        project = projects.get(project_id) or next(iter(projects.values()), None)
        if project is None:
            return None
        granted = self.roles.effective(user, project.id)
        return self.tokens.issue(TokenRequest(user, project, granted, ["password"]))
