"""`overcast image …`: import image files into the store and list the registered images."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from overcast.cli.runtime import add_data_dir, open_cloud, open_existing_cloud, settings_from
from overcast.cloud.images import CLOUD_ACCOUNT, DescribeRequest, ImageFiles
from overcast.errors import CloudError
from overcast.identity.context import Context
from overcast.identity.service import ADMIN_PROJECT
from overcast.ids import new_uuid
from overcast.images.importer import import_file, local_path
from overcast.images.probe import UnsafeImage


def register(sub: argparse._SubParsersAction) -> None:
    image = sub.add_parser("image", help="manage images").add_subparsers(
        dest="action", required=True)
    imp = image.add_parser("import", help="copy a raw or qcow2 file into the image store and "
                           "register it")
    imp.add_argument("file", help="a local path or file:/// URL")
    imp.add_argument("--name", required=True, help="the image name (3-128 characters)")
    imp.add_argument("--description", default="")
    owner = imp.add_mutually_exclusive_group()
    owner.add_argument("--public", action="store_true",
                       help="a cloud image every project may launch (owner alias amazon)")
    owner.add_argument("--project", default="admin",
                       help="the project that owns the image (default: admin)")
    imp.add_argument("--quiet", action="store_true", help="no progress bar")
    imp.set_defaults(func=import_image)
    listing = image.add_parser("list", help="list registered images")
    listing.add_argument("--project", help="only what this project may launch")
    listing.set_defaults(func=list_images)
    build = image.add_parser("build-test", help="build the built-in test image (a small "
                             "disk booting the Debian cloud kernel, busybox and dropbear)")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.set_defaults(func=build_test)
    for parser in (imp, listing, build):
        add_data_dir(parser)


def import_image(args: argparse.Namespace) -> int:
    cloud = open_cloud(args)
    if not any(p.name == ADMIN_PROJECT for p in cloud.identity.list_projects()):
        print("error: this cloud was never started: run `overcast up` once first",
              file=sys.stderr)
        return 1
    project_id = None if args.public else cloud.identity.get_project(args.project).id
    cloud.images.check_new_name(project_id, args.name)  # before copying anything
    try:
        source = local_path(args.file if args.file.startswith("file:")
                            else str(Path(args.file).resolve()))
        size = source.stat().st_size
        with tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024,
                  desc=f"importing {source.name}", disable=args.quiet,
                  file=sys.stderr) as bar:
            stored = import_file(source, cloud.settings.data_dir, new_uuid(), bar.update)
    except (UnsafeImage, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    files = ImageFiles(str(stored.path), stored.info.format,
                       size_bytes=stored.info.virtual_size)
    try:
        image = cloud.images.register_files(project_id, args.name, files, args.description,
                                            is_public=args.public)
    except CloudError:
        stored.path.unlink(missing_ok=True)  # nothing half-made: no unregistered copy stays
        raise
    owner = "the cloud (public)" if args.public else f"project {args.project}"
    print(f"{image.id}  {stored.info.format}, {stored.info.virtual_size} bytes virtual, "
          f"owned by {owner}\nstored as {stored.path.name} in {stored.path.parent}")
    return 0


def list_images(args: argparse.Namespace) -> int:
    cloud = open_existing_cloud(args)
    if args.project:
        project = cloud.identity.get_project(args.project)
        ctx = Context(project.id, project.account_id, "cli")
        views = cloud.images.describe(ctx, DescribeRequest())
    else:  # every project's images, for the host admin
        views = cloud.images.describe_all()
    print(f"{'IMAGE-ID':<22} {'OWNER':<13} {'PUBLIC':<6} {'FORMAT':<6} {'NAME'}")
    for view in views:
        owner = "amazon" if view.owner_id == CLOUD_ACCOUNT else view.owner_id
        print(f"{view.item.id:<22} {owner:<13} {str(view.item.is_public).lower():<6} "
              f"{view.item.disk_format:<6} {view.item.name}")
    return 0


def build_test(args: argparse.Namespace) -> int:
    """Build (or find up to date) the test image under the data dir; `up` registers it."""
    from overcast.images.builtin import build_test_image, builtin_dir
    from overcast.images.testimage import ImageBuildError

    out = builtin_dir(settings_from(args).data_dir)
    try:
        manifest = json.loads(build_test_image(out, quiet=args.quiet).read_text())
    except (ImageBuildError, OSError) as exc:
        print(f"error: cannot build the test image: {exc}", file=sys.stderr)
        return 1
    print(f"{manifest['disk_path']}  {manifest['disk_format']}, boots with "
          f"{manifest['boot']}, login {manifest['ssh_user']}")
    return 0
