"""`overcast project …` and `overcast access-key …`."""

from __future__ import annotations

import argparse

from overcast.cli.runtime import add_data_dir, open_cloud
from overcast.cloud.launch import quotas


def register(sub: argparse._SubParsersAction) -> None:
    project = sub.add_parser("project", help="manage projects").add_subparsers(
        dest="action", required=True)
    create = project.add_parser("create", help="create a project")
    create.add_argument("name")
    create.set_defaults(func=create_project)
    listing = project.add_parser("list", help="list projects")
    listing.set_defaults(func=list_projects)
    quota = project.add_parser("set-quota", help="set a project's quotas")
    quota.add_argument("name")
    quota.add_argument("--instances", type=int)
    quota.add_argument("--vcpus", type=int)
    quota.add_argument("--elastic-ips", type=int, help="Elastic IPs it may hold (default 5)")
    quota.set_defaults(func=set_quota)
    key = sub.add_parser("access-key", help="manage EC2 access keys").add_subparsers(
        dest="action", required=True)
    key_create = key.add_parser("create", help="create an access key (the secret is shown once)")
    key_create.add_argument("--project", required=True)
    key_create.set_defaults(func=create_key)
    for parser in (create, listing, quota, key_create):
        add_data_dir(parser)


def create_project(args: argparse.Namespace) -> int:
    project = open_cloud(args).identity.create_project(args.name)
    print(f"project {project.name} created: account {project.account_id}")
    return 0


def list_projects(args: argparse.Namespace) -> int:
    cloud = open_cloud(args)
    print(f"{'NAME':<24} {'ACCOUNT':<14} {'MAX-INSTANCES':>13} {'MAX-VCPUS':>9}")
    for p in cloud.identity.list_projects():
        max_instances, max_vcpus = quotas(p, cloud.settings)
        print(f"{p.name:<24} {p.account_id:<14} {max_instances:>13} {max_vcpus:>9}")
    return 0


def set_quota(args: argparse.Namespace) -> int:
    if args.instances is None and args.vcpus is None and args.elastic_ips is None:
        print("error: give --instances, --vcpus and/or --elastic-ips")
        return 2
    for value in (args.instances, args.vcpus, args.elastic_ips):
        if value is not None and value < 0:
            print("error: quotas cannot be negative")
            return 2
    project = open_cloud(args).identity.set_quota(args.name, args.instances, args.vcpus,
                                                  args.elastic_ips)
    print(f"project {project.name}: max instances {project.max_instances}, "
          f"max vCPUs {project.max_vcpus}, max Elastic IPs {project.max_elastic_ips}")
    return 0


def create_key(args: argparse.Namespace) -> int:
    creds = open_cloud(args).identity.create_access_key(args.project)
    print(f"AccessKeyId:     {creds.access_key_id}\nSecretAccessKey: {creds.secret_access_key}\n"
          "The secret is shown once here; `overcast credentials` prints the newest key.")
    return 0
