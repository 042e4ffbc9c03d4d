"""`overcast credentials`: what a client needs to talk to the cloud.

EC2 clients get the project's newest access key; OpenStack clients (clouds.yaml, openrc) get
an application credential of the project's first user, made once and printed again later.
"""

from __future__ import annotations

import argparse
import shlex

from overcast.cli.runtime import add_data_dir, endpoint, open_existing_cloud
from overcast.cloud.service import Cloud
from overcast.identity.service import ADMIN_PROJECT

FORMATS = ["env", "aws-config", "clouds-yaml", "openrc"]


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("credentials", help="print a project's client credentials")
    add_data_dir(parser)
    parser.add_argument("--project", default=ADMIN_PROJECT)
    parser.add_argument("--format", choices=FORMATS, default="env")
    parser.set_defaults(func=run)


def _ec2(cloud: Cloud, args: argparse.Namespace) -> None:
    creds = cloud.identity.credentials(args.project)
    url = endpoint(cloud.settings)
    region = cloud.settings.region
    if args.format == "env":
        values = {"AWS_ACCESS_KEY_ID": creds.access_key_id,
                  "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
                  "AWS_DEFAULT_REGION": region, "AWS_REGION": region,
                  "AWS_ENDPOINT_URL_EC2": url, "AWS_ENDPOINT_URL": url}
        for key, value in values.items():
            print(f"export {key}={shlex.quote(value)}")
    else:
        print(f"[profile overcast-{creds.project}]\n"
              f"aws_access_key_id = {creds.access_key_id}\n"
              f"aws_secret_access_key = {creds.secret_access_key}\n"
              f"region = {region}\n"
              f"endpoint_url = {url}")


def _application_credential(cloud: Cloud, project_name: str) -> tuple[str, str]:
    identity = cloud.identity
    identity.credentials(project_name)  # makes the project's first user if there is none
    project = identity.get_project(project_name)
    held = {u.id: identity.roles.effective(u, project.id) for u in identity.roles.users()
            if u.project_id == project.id}
    user_id = max(held, key=lambda u: len(held[u]))  # the strongest of the project's users
    user, roles = identity.roles.user(user_id), held[user_id]
    row, secret = identity.app_credentials.sealed_for_cli(user, project, roles)
    return row.id, secret


def _openstack(cloud: Cloud, args: argparse.Namespace) -> None:
    credential_id, secret = _application_credential(cloud, args.project)
    auth_url = endpoint(cloud.settings) + "/identity"
    region = cloud.settings.region
    if args.format == "openrc":
        values = {"OS_AUTH_TYPE": "v3applicationcredential", "OS_AUTH_URL": auth_url,
                  "OS_APPLICATION_CREDENTIAL_ID": credential_id,
                  "OS_APPLICATION_CREDENTIAL_SECRET": secret, "OS_REGION_NAME": region,
                  "OS_INTERFACE": "public", "OS_IDENTITY_API_VERSION": "3"}
        for key, value in values.items():
            print(f"export {key}={shlex.quote(value)}")
        return
    name = "overcast" if args.project == ADMIN_PROJECT else f"overcast-{args.project}"
    print(f"clouds:\n"
          f"  {name}:\n"
          f"    auth_type: v3applicationcredential\n"
          f"    auth:\n"
          f"      auth_url: {auth_url}\n"
          f"      application_credential_id: {credential_id}\n"
          f"      application_credential_secret: {secret}\n"
          f"    region_name: {region}\n"
          f"    interface: public\n"
          f"    identity_api_version: 3")


def run(args: argparse.Namespace) -> int:
    cloud = open_existing_cloud(args)
    if args.format in ("clouds-yaml", "openrc"):
        _openstack(cloud, args)
    else:
        _ec2(cloud, args)
    return 0
