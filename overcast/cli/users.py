"""`overcast user …` and `overcast role …`: users with passwords, and their roles on
projects (admin, member, reader), for the OpenStack APIs."""

from __future__ import annotations

import argparse
import getpass

from overcast.cli.runtime import add_data_dir, open_cloud, open_existing_cloud
from overcast.identity.roles import ROLES


def register(sub: argparse._SubParsersAction) -> None:
    user = sub.add_parser("user", help="manage users").add_subparsers(dest="action",
                                                                     required=True)
    create = user.add_parser("create", help="create a user in a project")
    create.add_argument("name")
    create.add_argument("--project", required=True, help="the user's home project")
    create.add_argument("--password", help="prompted for when not given")
    create.add_argument("--role", choices=ROLES, default="member",
                        help="role on the home project (default member)")
    create.set_defaults(func=create_user)
    passwd = user.add_parser("set-password", help="set a user's password")
    passwd.add_argument("name")
    passwd.add_argument("--password")
    passwd.set_defaults(func=set_password)
    listing = user.add_parser("list", help="list users and their roles")
    listing.set_defaults(func=list_users)
    remove_user = user.add_parser("delete", help="delete a user with its access keys, tokens, "
                                  "application credentials and roles (its instances stay)")
    remove_user.add_argument("name")
    remove_user.set_defaults(func=delete_user)
    role = sub.add_parser("role", help="manage role assignments").add_subparsers(
        dest="action", required=True)
    add = role.add_parser("add", help="give a user a role on a project")
    remove = role.add_parser("remove", help="take a role away")
    for parser in (add, remove):
        parser.add_argument("--user", required=True)
        parser.add_argument("--project", required=True)
        parser.add_argument("role", choices=ROLES)
    add.set_defaults(func=add_role)
    remove.set_defaults(func=remove_role)
    for parser in (create, passwd, listing, remove_user, add, remove):
        add_data_dir(parser)


def _password(given: str | None) -> str:
    return given if given is not None else getpass.getpass("Password: ")


def create_user(args: argparse.Namespace) -> int:
    identity = open_cloud(args).identity
    password = _password(args.password)
    user = identity.create_user(args.name, args.project, role=args.role)
    identity.roles.set_password(user.id, password)
    print(f"user {user.name} created in project {args.project} with role {args.role} "
          f"(id {user.id})")
    return 0


def delete_user(args: argparse.Namespace) -> int:
    user = open_cloud(args).identity.delete_user(args.name)
    print(f"user {user.name} deleted (id {user.id})")
    return 0


def set_password(args: argparse.Namespace) -> int:
    open_cloud(args).identity.roles.set_password(args.name, _password(args.password))
    print(f"password of {args.name} set")
    return 0


def list_users(args: argparse.Namespace) -> int:
    identity = open_existing_cloud(args).identity
    roles = identity.roles
    names = {p.id: p.name for p in identity.list_projects()}
    print(f"{'USER':<24} {'PROJECT':<24} ROLE")
    users = {u.id: u.name for u in roles.users()}
    for user_id, project_id, role in roles.assignments():
        print(f"{users.get(user_id, user_id):<24} {names.get(project_id, project_id):<24} "
              f"{role}")
    return 0


def add_role(args: argparse.Namespace) -> int:
    done = open_cloud(args).identity.roles.assign(args.user, args.project, args.role)
    print(f"{done.user.name} has role {done.role} on project {done.project.name}")
    return 0


def remove_role(args: argparse.Namespace) -> int:
    cloud = open_cloud(args)
    cloud.identity.roles.unassign(args.user, args.project, args.role)
    cloud.identity.tokens.revoke_user(cloud.identity.roles.user(args.user).id)
    print(f"role {args.role} of {args.user} on project {args.project} removed")
    return 0
