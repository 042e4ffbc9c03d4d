"""The table of EC2 actions: each handler turns parsed parameters into a result dict shaped
like the action's output in botocore's model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from overcast.cloud.service import Cloud
from overcast.errors import InvalidParameter
from overcast.identity.context import Context


@dataclass(frozen=True)
class Call:
    cloud: Cloud
    ctx: Context
    params: dict[str, Any]
    host: str  # the Host the client used, for endpoints we echo back

    def get(self, name: str, default: Any = None) -> Any:
        value = self.params.get(name)
        return default if value is None else value


Handler = Callable[[Call], dict[str, Any]]
ACTIONS: dict[str, Handler] = {}


class DryRunOperation(Exception):
    """The request would have succeeded."""


def action(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ACTIONS[name] = handler
        return handler
    return register


def required(call: Call, name: str) -> Any:
    value = call.params.get(name)
    if value is None:
        raise InvalidParameter("MissingParameter",
                               f"The request must contain the parameter {name}")
    return value


def delete_named(call: Call, name: str, delete: Callable[[Context, str], None]) -> dict:
    """A Delete action of one resource named by the parameter `name`."""
    resource_id = required(call, name)
    dry_run_check(call)
    delete(call.ctx, resource_id)
    return {}


def tagged_on_create(call: Call, resource_type: str, resource_id: str) -> dict[str, str]:
    """Apply TagSpecifications for this resource type to a resource just made."""
    tags = tags_for(call, resource_type)
    if tags:
        call.cloud.tags.create(call.ctx, [resource_id], tags)
    return tags


def dry_run_check(call: Call) -> None:
    """Call after validating: a DryRun request stops here with DryRunOperation."""
    if call.params.get("DryRun"):
        raise DryRunOperation()


def tag_list(tags: dict[str, str]) -> list[dict[str, str]] | None:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())] or None


def tags_for(call: Call, resource_type: str) -> dict[str, str]:
    """Tags from TagSpecifications that apply to one resource type."""
    found: dict[str, str] = {}
    for spec in call.get("TagSpecifications", []):
        if spec.get("ResourceType") == resource_type:
            for tag in spec.get("Tags") or []:
                found[tag.get("Key", "")] = tag.get("Value", "")
    return found
