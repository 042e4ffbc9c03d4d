"""`overcast host …`: compute hosts Overcast reaches over the network (Hyper-V for now).

    overcast host add hv01 --driver hyperv --address hv01.corp --username 'CORP\\svc' \\
        --password-file ~/hv01.pw --vm-path 'D:\\overcast' --switch External
    overcast host check hv01      # connect, Get-VMHost, free memory and disk, the switch
    overcast host list            # every host the scheduler knows, alive or not
    overcast host remove hv01     # once it runs no instance
    overcast host token create node2   # a join token for `overcast agent` on node2

A running `overcast up` picks up an added host within seconds, and lets a removed one go.
"""

from __future__ import annotations

import argparse
import stat
import sys
from pathlib import Path

from overcast.cli import host_tokens
from overcast.cli.runtime import add_data_dir, open_cloud, open_existing_cloud
from overcast.cloud.compute import HyperVHosts
from overcast.cloud.service import Cloud
from overcast.drivers.hyperv import HostConfig, HyperVDriver
from overcast.drivers.hyperv.config import AUTH_METHODS
from overcast.drivers.registry import NETWORK_HOST_DRIVERS, make_remote_driver
from overcast.errors import invalid


def register(sub: argparse._SubParsersAction) -> None:
    noun = sub.add_parser("host", help="manage remote compute hosts (Hyper-V)").add_subparsers(
        dest="action", required=True)
    add = noun.add_parser("add", help="add a Hyper-V host reached over PowerShell remoting")
    add.add_argument("name")
    add.add_argument("--driver", choices=NETWORK_HOST_DRIVERS, required=True)
    add.add_argument("--address", required=True, help="host name or IP of the Windows host")
    add.add_argument("--port", type=int, default=5986, help="WinRM port (5986 is HTTPS)")
    add.add_argument("--username", required=True)
    add.add_argument("--password-file", type=Path, required=True,
                     help="file holding the password (its first line)")
    add.add_argument("--auth", choices=AUTH_METHODS, default="negotiate")
    add.add_argument("--cert-validation", choices=("on", "off"), default="on")
    add.add_argument("--vm-path", required=True, help="where VMs and images live on the host")
    add.add_argument("--switch", required=True, help="Hyper-V virtual switch for the guests")
    add.add_argument("--zone", help="availability zone (default: the cloud's default zone)")
    add.set_defaults(func=add_host)
    check = noun.add_parser("check", help="a harmless smoke test of a host, step by step")
    check.add_argument("name")
    check.set_defaults(func=check_host)
    listing = noun.add_parser("list", help="list compute hosts")
    listing.set_defaults(func=list_hosts)
    remove = noun.add_parser("remove", help="forget a Hyper-V host that runs no instance")
    remove.add_argument("name")
    remove.set_defaults(func=remove_host)
    for parser in (add, check, listing, remove):
        add_data_dir(parser)
    host_tokens.register(noun)


def _hyperv_hosts(cloud: Cloud) -> HyperVHosts:
    return HyperVHosts(cloud.db, cloud.identity.box)


def read_password(path: Path) -> str:
    try:
        mode = path.stat().st_mode
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise invalid(f"cannot read the password file {path}: {exc.strerror}") from exc
    if not lines or not lines[0]:
        raise invalid(f"the password file {path} is empty")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        print(f"warning: {path} can be read by other users (chmod 600 it)", file=sys.stderr)
    return lines[0]


def add_host(args: argparse.Namespace) -> int:
    cloud = open_cloud(args)
    config = HostConfig(name=args.name, address=args.address, port=args.port,
                        username=args.username, password=read_password(args.password_file),
                        auth=args.auth, cert_validation=args.cert_validation == "on",
                        vm_path=args.vm_path, switch=args.switch)
    zone = args.zone or cloud.catalog.default_zone
    _hyperv_hosts(cloud).add(config, zone)
    scheme = "https" if config.use_tls else "http"
    print(f"host {args.name}: hyperv at {scheme}://{args.address}:{args.port}/wsman "
          f"({args.auth}), VMs in {args.vm_path} on switch {args.switch}, zone {zone}\n"
          f"check it with: overcast host check {args.name}")
    return 0


def check_host(args: argparse.Namespace) -> int:
    cloud = open_existing_cloud(args)
    hosts = _hyperv_hosts(cloud)
    row = hosts.get(args.name)
    state_dir = cloud.settings.data_dir / "hosts" / row.name
    driver = make_remote_driver("hyperv", hosts.config(row), state_dir)
    assert isinstance(driver, HyperVDriver)
    failed = False
    try:
        for step in driver.smoke_test():
            print(f"{'ok  ' if step.ok else 'FAIL'} {step.name}: {step.detail}", flush=True)
            failed = failed or not step.ok
    finally:
        driver.transport.close()
    print(f"host {row.name}: {'NOT usable' if failed else 'ready'}")
    return 1 if failed else 0


def remove_host(args: argparse.Namespace) -> int:
    _hyperv_hosts(open_cloud(args)).remove(args.name)
    print(f"host {args.name} removed")
    return 0


def list_hosts(args: argparse.Namespace) -> int:
    cloud = open_existing_cloud(args)
    remote = {row.name: row for row in _hyperv_hosts(cloud).list()}
    known = {h.name: h for h in cloud.hosts.list()}
    print(f"{'NAME':<16} {'DRIVER':<8} {'ZONE':<14} {'STATE':<9} {'VCPUS':>7} "
          f"{'MEMORY-MIB':>12} {'DISK-GIB':>9}  ADDRESS / LAST ERROR")
    for name in sorted(set(remote) | set(known)):
        host, row = known.get(name), remote.get(name)
        driver = "hyperv" if row else host.driver if host else "?"
        zone = row.zone if row else host.availability_zone if host else ""
        if host is None:
            state, numbers = "new", ("-", "-", "-")
        else:
            state = "down" if not host.alive else "enabled" if host.enabled else "disabled"
            numbers = (f"{host.used_vcpus}/{host.vcpus}",
                       f"{host.used_memory_mib}/{host.memory_mib}",
                       f"{host.used_disk_gib}/{host.disk_gib}")
        where = f"{row.address}:{row.port}" if row else ""
        if row and row.last_error:
            where += f"  {row.last_error}"
        print(f"{name:<16} {driver:<8} {zone:<14} {state:<9} {numbers[0]:>7} {numbers[1]:>12} "
              f"{numbers[2]:>9}  {where}".rstrip())
    return 0

