"""The instances pages: a live list with search, the launch form, one instance with its
actions, console and SSH command."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from overcast.cloud.compute import InstanceView
from overcast.cloud.filters import Filter
from overcast.errors import CloudError, NotFound
from overcast.lifecycle import (
    ACTS_FROM,
    IncorrectInstanceState,
    State,
    acts_on,
    ec2_name,
    next_state,
)
from overcast.web.launch_form import launch_choices, run_request
from overcast.web.page import BASE, Page, record_action

ACTIONS = {"start": "StartInstances", "stop": "StopInstances", "reboot": "RebootInstances",
           "terminate": "TerminateInstances"}
NOVA_ACTIONS = {"start": "start", "stop": "stop", "reboot": "reboot", "terminate": "delete"}
STATES = list(dict.fromkeys(ec2_name(s) for s in State))  # what the state filter matches


def does_something(state: str, action: str) -> bool:
    """Whether the action changes an instance in this state (its button is shown)."""
    if action in ACTS_FROM:
        return acts_on(state, action)
    try:
        return next_state("", State(state), action) != State(state)
    except IncorrectInstanceState:
        return False


def _matches(view: InstanceView, words: list[str]) -> bool:
    item = view.item
    text = " ".join(str(v) for v in (item.id, view.tags.get("Name", ""), item.instance_type,
                                     item.image_id, item.private_ip or "", item.public_ip or "",
                                     item.key_name or "")).lower()
    return all(word in text for word in words)


def _found(page: Page) -> list[InstanceView]:
    state = page.request.args.get("state", "")
    filters = [Filter("instance-state-name", (state,))] if state in STATES else []
    views, _ = page.cloud.instances.describe(page.ctx, [], filters)
    words = page.request.args.get("q", "").lower().split()
    views = [v for v in views if _matches(v, words)] if words else views
    views.sort(key=lambda v: (v.item.launch_time, v.item.id), reverse=True)
    return views


def _rows(page: Page) -> Any:
    query = page.request.query_string.decode()
    url = f"{BASE}/instances/rows" + (f"?{query}" if query else "")
    markup, _ = page.live("instance_rows.html", url, "instance-rows", views=_found(page))
    return markup


def listing(page: Page) -> Response:
    return page.render("instances.html", rows=_rows(page), states=STATES,
                       q=page.request.args.get("q", ""),
                       state=page.request.args.get("state", ""),
                       can_launch=page.allows("RunInstances"))


def rows(page: Page) -> Response:
    query = page.request.query_string.decode()
    url = f"{BASE}/instances/rows" + (f"?{query}" if query else "")
    return page.live_response("instance_rows.html", url, "instance-rows", views=_found(page))


def launch(page: Page) -> Response:
    page.require("RunInstances")
    form = page.request.form if page.request.method == "POST" else {}
    if page.request.method == "POST":
        try:
            launched = page.cloud.run_instances(page.ctx, run_request(form))
        except CloudError as exc:
            return page.render("launch.html", status=400, error=exc.message, form=form,
                               chosen=page.request.form.getlist("group_ids"),
                               **launch_choices(page.cloud, page.ctx))
        for record in launched.instances:
            record_action(page, record.id, "create")
        if len(launched.instances) == 1:
            return page.redirect(f"{BASE}/instances/{launched.instances[0].id}")
        return page.redirect(f"{BASE}/instances")
    return page.render("launch.html", error="", form=form, chosen=[],
                       **launch_choices(page.cloud, page.ctx))


def _view(page: Page, instance_id: str) -> InstanceView:
    views, _ = page.cloud.instances.describe(page.ctx, [instance_id], [])
    if not views:
        raise NotFound("InvalidInstanceID.NotFound", f"No instance {instance_id}.")
    return views[0]


def _summary_values(page: Page, view: InstanceView) -> dict[str, Any]:
    state = view.item.state
    actions = [a for a in ACTIONS if does_something(state, a) and page.allows(ACTIONS[a])]
    return {"view": view, "item": view.item, "actions": actions}


def _summary(page: Page, view: InstanceView) -> Any:
    url = f"{BASE}/instances/{view.item.id}/summary"
    markup, _ = page.live("instance_summary.html", url, "instance-summary",
                          **_summary_values(page, view))
    return markup


def _console(page: Page, instance_id: str) -> tuple[str, dict[str, Any]]:
    output = page.cloud.instances.console_output(page.ctx, instance_id)
    return f"{BASE}/instances/{instance_id}/console", {
        "output": output.decode("utf-8", "replace")}


def detail(page: Page) -> Response:
    view = _view(page, page.args["instance_id"])
    url, values = _console(page, view.item.id)
    console, _ = page.live("console.html", url, "console", **values)
    return page.render("instance.html", item=view.item, view=view,
                       summary=_summary(page, view), console=console)


def summary(page: Page) -> Response:
    view = _view(page, page.args["instance_id"])
    return page.live_response("instance_summary.html",
                              f"{BASE}/instances/{view.item.id}/summary", "instance-summary",
                              **_summary_values(page, view))


def console(page: Page) -> Response:
    instance_id = page.cloud.instances.get(page.ctx, page.args["instance_id"]).id
    url, values = _console(page, instance_id)
    return page.live_response("console.html", url, "console", **values)


def act(page: Page) -> Response:
    verb = page.args["verb"]
    if verb not in ACTIONS:
        raise NotFound("NotFound", f"No instance action {verb!r}.")
    page.require(ACTIONS[verb])
    instance_id = page.cloud.instances.get(page.ctx, page.args["instance_id"]).id
    page.cloud.instances.change(page.ctx, [instance_id], verb)
    record_action(page, instance_id, NOVA_ACTIONS[verb])
    return page.back(f"{BASE}/instances/{instance_id}")
