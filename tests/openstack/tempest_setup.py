"""Prepare a Tempest workspace against a running Overcast (not run in CI).

    python -m tests.openstack.tempest_setup --data-dir DIR --endpoint http://HOST:PORT \
        --workspace WS
    cd WS && tempest run --concurrency 1 --regex '…'

Makes six projects, each with a member and a reader (static accounts, as Tempest wants
them without dynamic credentials), gives the admin user a password, and writes
etc/accounts.yaml and etc/tempest.conf with the features this cloud does not claim
switched off.
"""

from __future__ import annotations

import argparse
import secrets
import subprocess
import sys
from pathlib import Path

import requests
import yaml

PROJECTS = 6
DISABLED_COMPUTE = ("resize", "snapshot", "rescue", "shelve",
                    "live_migration", "cold_migration", "vnc_console", "spice_console",
                    "serial_console", "interface_attach", "change_password", "personality",
                    "config_drive", "metadata_service", "swap_volume", "volume_multiattach",
                    "attach_encrypted_volume", "hostname_fqdn_sanitization")

# Cinder features this cloud does not offer: backups, clones (and volumes from images), the
# manage calls, replication, a second backend, extending an attached volume (3.42)
DISABLED_VOLUME = ("backup", "clone", "manage_snapshot", "manage_volume", "replication",
                   "multi_backend", "extend_attached_volume",
                   "extend_attached_encrypted_volume", "enable_volume_image_dep_tests")


def _overcast(data_dir: str, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "overcast.cli.main", *args, "--data-dir", data_dir],
                   check=True, capture_output=True, text=True)


def _accounts(data_dir: str, password: str) -> list[dict]:
    """All members before all readers: Tempest gives a test's `alt` credentials the first free
    non-admin account in file order, which must not be the reader of the primary's project
    that the same test asks for next (ImagesMemberTest: primary, alt, project_reader).
    `--password=X`, not `--password X`: a random password may start with '-'."""
    accounts: dict[str, list[dict]] = {"member": [], "reader": []}
    for n in range(1, PROJECTS + 1):
        project = f"tempest-{n}"
        _overcast(data_dir, "project", "create", project)
        for role, listed in accounts.items():
            user = f"{project}-{role}"
            _overcast(data_dir, "user", "create", user, "--project", project,
                      f"--password={password}", "--role", role)
            listed.append({"username": user, "project_name": project, "password": password,
                           "roles": [role], "resources": {"network": "default"}})
    return accounts["member"] + accounts["reader"]


def _set_admin_passwords(data_dir: str, password: str) -> None:
    """A second admin: with one, two workers that both run admin classes at once leave one
    without credentials ("Insufficient number of users provided"), a race of the schedule."""
    _overcast(data_dir, "user", "set-password", "admin", f"--password={password}")
    _overcast(data_dir, "user", "create", "tempest-admin-2", "--project", "admin",
              f"--password={password}", "--role", "admin")


def _image_ids(endpoint: str, admin_password: str) -> tuple[str, str]:
    """The built-in test image and a second public one (raw, 1 MiB of zeros: the fake driver
    boots anything), so the tests that filter servers by image have two to tell apart."""
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": admin_password}}}}}
    token = requests.post(f"{endpoint}/identity/v3/auth/tokens", json=auth,
                          timeout=30).headers["X-Subject-Token"]
    headers = {"X-Auth-Token": token}
    images = requests.get(f"{endpoint}/image/v2/images?name=overcast-testimage",
                          headers=headers, timeout=30).json()["images"]
    alt = requests.post(f"{endpoint}/image/v2/images", headers=headers, timeout=30, json={
        "name": "tempest-alt", "disk_format": "raw", "container_format": "bare",
        "visibility": "public"})
    alt.raise_for_status()
    alt_id = alt.json()["id"]
    requests.put(f"{endpoint}/image/v2/images/{alt_id}/file", data=bytes(1024**2), timeout=60,
                 headers={**headers, "Content-Type": "application/octet-stream"},
                 ).raise_for_status()
    return images[0]["id"], alt_id


def _conf(endpoint: str, workspace: Path, image_id: str, alt_image_id: str) -> str:
    sections = {
        "DEFAULT": {"log_file": "tempest.log"},
        "oslo_concurrency": {"lock_path": str(workspace / "tempest_lock")},
        "auth": {"use_dynamic_credentials": "false", "create_isolated_networks": "false",
                 "test_accounts_file": str(workspace / "etc" / "accounts.yaml"),
                 "default_credentials_domain_name": "Default",
                 "admin_domain_name": "Default"},
        "identity": {"uri_v3": f"{endpoint}/identity/v3", "auth_version": "v3",
                     "region": "overcast-1"},
        "identity-feature-enabled": {"api_v2": "false"},
        "service_available": {"nova": "true", "glance": "true", "neutron": "true",
                              "cinder": "true", "swift": "false", "placement": "false"},
        "compute": {"image_ref": image_id, "image_ref_alt": alt_image_id,
                    "flavor_ref": "m1.tiny", "flavor_ref_alt": "m1.small",
                    "build_timeout": "60", "build_interval": "1",
                    "fixed_network_name": "default"},
        "compute-feature-enabled": {name: "false" for name in DISABLED_COMPUTE},
        "validation": {"run_validation": "false", "ssh_key_type": "rsa"},
        "image": {"disk_formats": "raw", "container_formats": "bare", "http_image": ""},
        "volume": {"catalog_type": "block-storage", "region": "overcast-1",
                   "build_timeout": "60", "build_interval": "1", "volume_size": "1",
                   "volume_size_extend": "1"},
        "volume-feature-enabled": {name: "false" for name in DISABLED_VOLUME} | {
            "snapshot": "true", "extend_volume_with_snapshot": "true",
            "api_extensions": ""},
        "image-feature-enabled": {"import_image": "false", "os_glance_reserved": "false"},
        "network-feature-enabled": {"ipv6": "false"},
    }
    return "\n".join(f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in values.items())
                     for name, values in sections.items())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--workspace", required=True, type=Path)
    args = parser.parse_args()
    password = secrets.token_urlsafe(12)
    admin_password = secrets.token_urlsafe(12)
    _set_admin_passwords(args.data_dir, admin_password)
    admins = [{"username": name, "project_name": "admin", "password": admin_password,
               "types": ["admin"]} for name in ("admin", "tempest-admin-2")]
    accounts = [*admins, *_accounts(args.data_dir, password)]
    etc = args.workspace / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "accounts.yaml").write_text(yaml.safe_dump(accounts))
    conf = _conf(args.endpoint.rstrip("/"), args.workspace.resolve(),
                 *_image_ids(args.endpoint.rstrip("/"), admin_password))
    (etc / "tempest.conf").write_text(conf)
    print(f"tempest workspace ready in {args.workspace}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
