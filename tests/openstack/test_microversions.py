"""Compute microversions 2.1 to 2.79: negotiation in both headers, Nova's 400 and 406, and
what the versions change, seen through openstacksdk at its default negotiation and raw
requests at chosen versions."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.openstack.conftest import OsCloud, wait_status


def _call(osc: OsCloud, admin: Any, method: str, path: str, version: str | None = None,
          legacy: bool = False, **kwargs: Any) -> requests.Response:
    headers = {"X-Auth-Token": admin.auth_token}
    if version is not None:
        headers["X-OpenStack-Nova-API-Version" if legacy else "OpenStack-API-Version"] = \
            version if legacy else f"compute {version}"
    return requests.request(method, f"{osc.cloud.endpoint}/compute/v2.1{path}",
                            headers=headers, timeout=30, **kwargs)


@pytest.mark.parametrize(("asked", "legacy", "served"), [
    (None, False, "2.1"), ("2.47", False, "2.47"), ("latest", False, "2.79"),
    ("2.79", True, "2.79"), ("2.1", True, "2.1")])
def test_negotiation_answers_the_version_served(osc: OsCloud, admin, asked, legacy,
                                                served) -> None:
    found = _call(osc, admin, "GET", "/flavors", asked, legacy)
    assert found.status_code == 200
    assert found.headers["OpenStack-API-Version"] == f"compute {served}"
    assert found.headers["X-OpenStack-Nova-API-Version"] == served


@pytest.mark.parametrize(("asked", "status", "fault"), [
    ("2.80", 406, "notAcceptable"), ("3.0", 406, "notAcceptable"),
    ("2.0", 406, "notAcceptable"), ("two", 400, "badRequest"), ("2.x", 400, "badRequest")])
def test_versions_out_of_range_get_nova_faults(osc: OsCloud, admin, asked, status,
                                               fault) -> None:
    found = _call(osc, admin, "GET", "/flavors", asked)
    assert found.status_code == status
    assert found.json()[fault]["code"] == status


def test_sdk_default_negotiation_sees_new_server_fields(admin, image_id) -> None:
    server = admin.compute.create_server(networks="auto", name="mv-vm", image_id=image_id,
                                         flavor_id="m1.tiny", description="web tier",
                                         tags=["blue", "web"])
    wait_status(admin, server.id, "ACTIVE")
    found = admin.compute.get_server(server.id)
    assert (found.description, sorted(found.tags), found.is_locked) == \
        ("web tier", ["blue", "web"], False)
    assert found.flavor.original_name == "m1.tiny" and found.flavor.vcpus == 1
    assert found.trusted_image_certificates is None and found.server_groups == []
    assert found.metadata == {}  # tags and the description are no metadata
    found.add_tag(admin.compute, "green")
    found.remove_tag(admin.compute, "blue")
    assert sorted(admin.compute.get_server(server.id).tags) == ["green", "web"]
    by_tag = [s.id for s in admin.compute.servers(tags="green")]
    assert server.id in by_tag
    assert server.id not in [s.id for s in admin.compute.servers(**{"not-tags": "green"})]
    admin.compute.update_server(server, description="db tier")
    assert admin.compute.get_server(server.id).description == "db tier"
    admin.compute.delete_server(server)


def test_old_versions_refuse_new_fields(osc: OsCloud, admin, image_id) -> None:
    body = {"server": {"name": "mv-old", "imageRef": image_id, "flavorRef": "m1.tiny",
                       "description": "too new"}}
    refused = _call(osc, admin, "POST", "/servers", "2.18", json=body)
    assert refused.status_code == 400 and "description" in refused.json()["badRequest"][
        "message"]
    del body["server"]["description"]
    body["server"]["tags"] = ["a"]
    assert _call(osc, admin, "POST", "/servers", "2.51", json=body).status_code == 400
    del body["server"]["tags"]
    no_networks = _call(osc, admin, "POST", "/servers", "2.37", json=body)
    assert no_networks.status_code == 400
    body["server"]["networks"] = "auto"
    assert _call(osc, admin, "POST", "/servers", "2.36", json=body).status_code == 400
    body["server"]["networks"] = [{"uuid": "x", "tag": "nic1"}]
    assert _call(osc, admin, "POST", "/servers", "2.37", json=body).status_code == 400


def test_versions_shape_lists_and_flavors(osc: OsCloud, admin) -> None:
    assert _call(osc, admin, "GET", "/servers?bogus=1", "2.74").status_code == 200
    strict = _call(osc, admin, "GET", "/servers?bogus=1", "2.75")
    assert strict.status_code == 400 and "bogus" in strict.json()["badRequest"]["message"]
    old = _call(osc, admin, "GET", "/flavors/m1.tiny", "2.54").json()["flavor"]
    new = _call(osc, admin, "GET", "/flavors/m1.tiny", "2.75").json()["flavor"]
    assert "description" not in old and "extra_specs" not in old and old["swap"] == ""
    assert (new["description"], new["extra_specs"], new["swap"]) == (None, {}, 0)
    assert _call(osc, admin, "GET", "/os-security-groups", "2.35").status_code == 200
    gone = _call(osc, admin, "GET", "/os-security-groups", "2.36")
    assert gone.status_code == 404 and gone.json()["itemNotFound"]["code"] == 404
    assert _call(osc, admin, "GET", "/servers/x/tags", "2.25").status_code == 404
