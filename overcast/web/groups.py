"""Security groups and their rule editor: add a rule (protocol, ports, one CIDR source),
remove one; the same checks as AuthorizeSecurityGroupIngress/Egress and their revokes."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from overcast.cloud.network import Permission
from overcast.errors import CloudError, NotFound, invalid
from overcast.web.page import BASE, Page

PROTOCOLS = (("tcp", "TCP"), ("udp", "UDP"), ("icmp", "ICMP"), ("-1", "All traffic"))


def listing(page: Page) -> Response:
    found, _ = page.cloud.security_groups.describe(page.ctx, [], [], [])
    return page.render("groups.html", groups=[t.item for t in found])


def _group(page: Page, group_id: str) -> Any:
    found, _ = page.cloud.security_groups.describe(page.ctx, [group_id], [], [])
    if not found:
        raise NotFound("InvalidGroup.NotFound", f"No security group {group_id}.")
    return found[0].item


def _detail(page: Page, status: int = 200, error: str = "",
            form: Any = None) -> Response:
    view = _group(page, page.args["group_id"])
    return page.render("group.html", status=status, view=view, group=view.group, error=error,
                       form=form or {}, protocols=PROTOCOLS,
                       can_change=page.allows("AuthorizeSecurityGroupIngress"))


def detail(page: Page) -> Response:
    return _detail(page)


def _port(raw: str, what: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise invalid(f"The {what} '{raw}' is not a number.") from None


def _permission(form: Any) -> Permission:
    cidr = form.get("cidr", "").strip() or "0.0.0.0/0"
    source = ((cidr, form.get("description", "").strip()),)
    from_port = _port(form.get("from_port", ""), "first port")
    to_port = _port(form.get("to_port", ""), "last port")
    if to_port is None:
        to_port = from_port
    return Permission(form.get("protocol", "tcp"), from_port, to_port,
                      ipv6=source if ":" in cidr else (), ipv4=() if ":" in cidr else source)


def add_rule(page: Page) -> Response:
    egress = page.request.form.get("direction") == "egress"
    page.require("AuthorizeSecurityGroupEgress" if egress else "AuthorizeSecurityGroupIngress")
    group_id = _group(page, page.args["group_id"]).group.id
    try:
        page.cloud.security_groups.authorize(page.ctx, (group_id, None), egress,
                                             [_permission(page.request.form)])
    except CloudError as exc:
        return _detail(page, 400, exc.message, page.request.form)
    return page.redirect(f"{BASE}/security-groups/{group_id}")


def delete_rule(page: Page) -> Response:
    egress = page.request.form.get("direction") == "egress"
    page.require("RevokeSecurityGroupEgress" if egress else "RevokeSecurityGroupIngress")
    group_id = _group(page, page.args["group_id"]).group.id
    page.cloud.security_groups.revoke(page.ctx, (group_id, None), egress, [],
                                      rule_ids=[page.args["rule_id"]])
    return page.redirect(f"{BASE}/security-groups/{group_id}")
