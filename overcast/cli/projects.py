"""`overcast project …` and `overcast access-key …`."""

from __future__ import annotations

import argparse

from overcast.cli.runtime import add_data_dir, open_cloud, open_existing_cloud
from overcast.cloud.compute import quotas
from overcast.cloud.images import GIB, image_limits
from overcast.cloud.storage import volume_limits
from overcast.identity.access_keys import ACTIVE, INACTIVE


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
    quota.add_argument("--images", type=int, help="images the project may hold")
    quota.add_argument("--image-gib", type=float, help="their sizes together, in GiB")
    quota.add_argument("--elastic-ips", type=int, help="Elastic IPs it may hold (default 5)")
    quota.add_argument("--volumes", type=int, help="EBS volumes it may hold")
    quota.add_argument("--volume-gib", type=int, help="their sizes together, in GiB")
    quota.set_defaults(func=set_quota)
    key = sub.add_parser("access-key", help="manage EC2 access keys").add_subparsers(
        dest="action", required=True)
    key_create = key.add_parser("create", help="create an access key (the secret is shown once)")
    key_create.add_argument("--project", required=True)
    key_create.add_argument("--user", help="the key's user (default: the project's first user)")
    key_create.set_defaults(func=create_key)
    key_parsers = [key_create, *_register_key_management(key)]
    for parser in (create, listing, quota, *key_parsers):
        add_data_dir(parser)


def _register_key_management(key: argparse._SubParsersAction) -> list[argparse.ArgumentParser]:
    key_list = key.add_parser("list", help="list access keys (never their secrets)")
    key_list.add_argument("--project")
    key_list.add_argument("--user")
    key_list.set_defaults(func=list_keys)
    found = [key_list]
    for verb, func, text in (("deactivate", deactivate_key, "refuse a key from now on"),
                             ("activate", activate_key, "accept a deactivated key again"),
                             ("delete", delete_key, "delete a key for good")):
        parser = key.add_parser(verb, help=text)
        parser.add_argument("access_key_id")
        parser.set_defaults(func=func)
        found.append(parser)
    return found


def create_project(args: argparse.Namespace) -> int:
    project = open_cloud(args).identity.create_project(args.name)
    print(f"project {project.name} created: account {project.account_id}")
    return 0


def list_projects(args: argparse.Namespace) -> int:
    cloud = open_existing_cloud(args)
    print(f"{'NAME':<24} {'ACCOUNT':<14} {'MAX-INSTANCES':>13} {'MAX-VCPUS':>9} "
          f"{'MAX-IMAGES':>10} {'MAX-IMAGE-GIB':>13}")
    for p in cloud.identity.list_projects():
        max_instances, max_vcpus = quotas(p, cloud.settings)
        limits = image_limits(p, cloud.settings)
        print(f"{p.name:<24} {p.account_id:<14} {max_instances:>13} {max_vcpus:>9} "
              f"{limits.images:>10} {limits.image_bytes / GIB:>13g}")
    return 0


def set_quota(args: argparse.Namespace) -> int:
    wanted = (args.instances, args.vcpus, args.images, args.image_gib, args.elastic_ips,
              args.volumes, args.volume_gib)
    if all(value is None for value in wanted):
        print("error: give --instances, --vcpus, --images, --image-gib, --elastic-ips, "
              "--volumes and/or --volume-gib")
        return 2
    if any(value is not None and value < 0 for value in wanted):
        print("error: quotas cannot be negative")
        return 2
    cloud = open_cloud(args)
    image_bytes = None if args.image_gib is None else int(args.image_gib * GIB)
    project = cloud.identity.set_limits(args.name, {
        "max_instances": args.instances, "max_vcpus": args.vcpus,
        "max_elastic_ips": args.elastic_ips, "max_images": args.images,
        "max_image_bytes": image_bytes, "max_volumes": args.volumes,
        "max_volume_gib": args.volume_gib})
    limits = image_limits(project, cloud.settings)
    volumes = volume_limits(project, cloud.settings)
    max_instances, max_vcpus = quotas(project, cloud.settings)
    print(f"project {project.name}: max instances {max_instances}, "
          f"max vCPUs {max_vcpus}, max images {limits.images}, "
          f"max image bytes {limits.image_bytes}, "
          f"max Elastic IPs {cloud.elastic_ips.limit(project)}, max volumes {volumes.volumes}, "
          f"max volume GiB {volumes.gib}")
    return 0


def create_key(args: argparse.Namespace) -> int:
    creds = open_cloud(args).identity.create_access_key(args.project, args.user)
    print(f"AccessKeyId:     {creds.access_key_id}\nSecretAccessKey: {creds.secret_access_key}\n"
          "The secret is shown once here; `overcast credentials` prints the newest key.")
    return 0


def list_keys(args: argparse.Namespace) -> int:
    identity = open_cloud(args).identity
    user_id = identity.roles.user(args.user).id if args.user else None
    project_id = identity.get_project(args.project).id if args.project else None
    print(f"{'ACCESS-KEY-ID':<22} {'USER':<24} {'PROJECT':<24} {'STATUS':<9} CREATED")
    for key in identity.access_keys.list(user_id, project_id):
        created = key.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        print(f"{key.access_key_id:<22} {key.user_name:<24} {key.project_name:<24} "
              f"{key.status:<9} {created}")
    return 0


def _set_key_status(args: argparse.Namespace, status: str) -> int:
    open_cloud(args).identity.access_keys.set_status(args.access_key_id, status)
    print(f"access key {args.access_key_id} is {status.lower()}")
    return 0


def deactivate_key(args: argparse.Namespace) -> int:
    return _set_key_status(args, INACTIVE)


def activate_key(args: argparse.Namespace) -> int:
    return _set_key_status(args, ACTIVE)


def delete_key(args: argparse.Namespace) -> int:
    open_cloud(args).identity.access_keys.delete(args.access_key_id)
    print(f"access key {args.access_key_id} deleted")
    return 0
