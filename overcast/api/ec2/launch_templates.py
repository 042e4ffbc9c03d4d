"""EC2 launch template actions: templates, their versions, and the template RunInstances
launches from (merged in by run_instances)."""

from __future__ import annotations

from typing import Any

from overcast.api.ec2.dispatch import Call, action, dry_run_check, required, tag_list, tags_for
from overcast.cloud import filters as flt
from overcast.cloud.compute import LaunchTemplate, TemplateRef, VersionView


def _ref(call: Call) -> TemplateRef:
    return TemplateRef(call.get("LaunchTemplateId"), call.get("LaunchTemplateName"))


def render_template(template: LaunchTemplate, tags: dict[str, str] | None = None,
                    ) -> dict[str, Any]:
    return {"LaunchTemplateId": template.id, "LaunchTemplateName": template.name,
            "CreateTime": template.created_at, "CreatedBy": template.created_by,
            "DefaultVersionNumber": template.default_version,
            "LatestVersionNumber": template.latest_version,
            "Tags": tag_list(tags or {})}


def _response_data(data: dict[str, Any]) -> dict[str, Any]:
    if "MetadataOptions" in data:
        return {**data, "MetadataOptions": {"State": "applied", **data["MetadataOptions"]}}
    return data


def render_version(view: VersionView) -> dict[str, Any]:
    template, version = view.template, view.version
    return {"LaunchTemplateId": template.id, "LaunchTemplateName": template.name,
            "VersionNumber": version.version, "VersionDescription": version.description,
            "CreateTime": version.created_at, "CreatedBy": version.created_by,
            "DefaultVersion": version.version == template.default_version,
            "LaunchTemplateData": _response_data(view.data)}


@action("CreateLaunchTemplate")
def create_launch_template(call: Call) -> dict[str, Any]:
    name, data = required(call, "LaunchTemplateName"), required(call, "LaunchTemplateData")
    dry_run_check(call)
    tags = tags_for(call, "launch-template")
    view = call.cloud.launch_templates.create(call.ctx, name, data,
                                              call.get("VersionDescription", ""), tags)
    return {"LaunchTemplate": render_template(view.template, tags)}


@action("CreateLaunchTemplateVersion")
def create_launch_template_version(call: Call) -> dict[str, Any]:
    data = required(call, "LaunchTemplateData")
    dry_run_check(call)
    view = call.cloud.launch_templates.create_version(
        call.ctx, _ref(call), data, call.get("VersionDescription", ""),
        call.get("SourceVersion"))
    return {"LaunchTemplateVersion": render_version(view)}


@action("ModifyLaunchTemplate")
def modify_launch_template(call: Call) -> dict[str, Any]:
    dry_run_check(call)
    template = call.cloud.launch_templates.modify(call.ctx, _ref(call),
                                                  call.get("DefaultVersion"))
    return {"LaunchTemplate": render_template(template)}


@action("DeleteLaunchTemplate")
def delete_launch_template(call: Call) -> dict[str, Any]:
    dry_run_check(call)
    template = call.cloud.launch_templates.delete(call.ctx, _ref(call))
    return {"LaunchTemplate": render_template(template)}


@action("DeleteLaunchTemplateVersions")
def delete_launch_template_versions(call: Call) -> dict[str, Any]:
    versions = required(call, "Versions")
    dry_run_check(call)
    template, deleted, failed = call.cloud.launch_templates.delete_versions(
        call.ctx, _ref(call), versions)
    names = {"LaunchTemplateId": template.id, "LaunchTemplateName": template.name}
    return {"SuccessfullyDeletedLaunchTemplateVersions": [
                {**names, "VersionNumber": n} for n in deleted],
            "UnsuccessfullyDeletedLaunchTemplateVersions": [
                {**names, "VersionNumber": int(v) if v.isdigit() else None,
                 "ResponseError": {"Code": code, "Message": message}}
                for v, code, message in failed]}


@action("DescribeLaunchTemplates")
def describe_launch_templates(call: Call) -> dict[str, Any]:
    items, token = call.cloud.launch_templates.describe(
        call.ctx, call.get("LaunchTemplateIds", []), call.get("LaunchTemplateNames", []),
        flt.parse_filters(call.get("Filters")), call.get("MaxResults"), call.get("NextToken"))
    dry_run_check(call)
    return {"LaunchTemplates": [render_template(t.item, t.tags) for t in items],
            "NextToken": token}


@action("DescribeLaunchTemplateVersions")
def describe_launch_template_versions(call: Call) -> dict[str, Any]:
    items, token = call.cloud.launch_templates.describe_versions(
        call.ctx, _ref(call), call.get("Versions", []),
        (call.get("MinVersion"), call.get("MaxVersion")),
        flt.parse_filters(call.get("Filters")), call.get("MaxResults"), call.get("NextToken"))
    dry_run_check(call)
    return {"LaunchTemplateVersions": [render_version(t.item) for t in items],
            "NextToken": token}
