"""`overcast instance-type …`: the admin's own instance types."""

from __future__ import annotations

import argparse

from overcast.cli.runtime import add_data_dir, open_cloud, open_existing_cloud
from overcast.cloud.compute import HOST_DRIVERS


def register(sub: argparse._SubParsersAction) -> None:
    noun = sub.add_parser("instance-type", help="manage instance types").add_subparsers(
        dest="action", required=True)
    create = noun.add_parser("create", help="define an instance type")
    create.add_argument("name")
    create.add_argument("--vcpus", type=int, required=True)
    create.add_argument("--memory-mib", type=int, required=True)
    create.add_argument("--disk-gib", type=int, default=8)
    create.add_argument("--driver", choices=HOST_DRIVERS,
                        help="only hosts of this driver run the type (e.g. hyperv)")
    create.set_defaults(func=create_type)
    listing = noun.add_parser("list", help="list instance types")
    listing.set_defaults(func=list_types)
    delete = noun.add_parser("delete", help="remove an instance type")
    delete.add_argument("name")
    delete.set_defaults(func=delete_type)
    for parser in (create, listing, delete):
        add_data_dir(parser)


def create_type(args: argparse.Namespace) -> int:
    itype = open_cloud(args).catalog.create_instance_type(args.name, args.vcpus,
                                                          args.memory_mib, args.disk_gib,
                                                          args.driver)
    on = f", {itype.driver} hosts only" if itype.driver else ""
    print(f"instance type {itype.name}: {itype.vcpus} vCPU, {itype.memory_mib} MiB, "
          f"{itype.disk_gib} GiB{on}")
    return 0


def list_types(args: argparse.Namespace) -> int:
    types = open_existing_cloud(args).catalog.instance_types()
    print(f"{'NAME':<16} {'VCPUS':>5} {'MEMORY-MIB':>10} {'DISK-GIB':>8}  HOSTS")
    for t in sorted(types.values(), key=lambda t: t.name):
        print(f"{t.name:<16} {t.vcpus:>5} {t.memory_mib:>10} {t.disk_gib:>8}  "
              f"{t.driver or 'any'}")
    return 0


def delete_type(args: argparse.Namespace) -> int:
    open_cloud(args).catalog.delete_instance_type(args.name)
    print(f"instance type {args.name} deleted")
    return 0
