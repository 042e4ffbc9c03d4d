"""`overcast credentials`: what a client needs to talk to the cloud."""

from __future__ import annotations

import argparse
import shlex

from overcast.cli.runtime import add_data_dir, endpoint, open_cloud
from overcast.identity.service import ADMIN_PROJECT


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("credentials", help="print a project's client credentials")
    add_data_dir(parser)
    parser.add_argument("--project", default=ADMIN_PROJECT)
    parser.add_argument("--format", choices=["env", "aws-config"], default="env")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cloud = open_cloud(args)
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
    return 0
