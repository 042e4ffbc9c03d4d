"""`overcast up`: the whole cloud on one host, in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import os
import signal
import threading
import time
from pathlib import Path

from overcast.agent.burst import BurstSupervisor
from overcast.agent.reconciler import Agent
from overcast.agent.remote_hosts import HyperVHostAgents
from overcast.agent.store import LocalStore
from overcast.api.app import App
from overcast.api.server import HttpServer
from overcast.cli.pointer import leave_pointer
from overcast.cli.preflight import (
    CliError,
    check_can_listen,
    check_database,
    check_network_mode,
    check_public_network,
    listen_argument,
    prepare_data_dir,
    shown_url,
)
from overcast.cli.runtime import add_data_dir, run_file
from overcast.cloud.images import ensure_builtin_image
from overcast.cloud.service import Cloud
from overcast.config import Settings, load_settings
from overcast.drivers.base import NETWORK_MODES
from overcast.drivers.registry import (
    LOCAL_DRIVERS,
    make_driver,
    make_network_driver,
    make_storage,
)
from overcast.identity.service import Credentials
from overcast.logs import FORMATS, LEVELS
from overcast.logs import configure as configure_logging
from overcast.metadata.listen import MetadataListenError, start_metadata_server
from overcast.metadata.relayauth import RelayKeyError

log = logging.getLogger("overcast")
PURGE_EVERY = 60.0
SIGNAL_POLL = 0.5  # seconds: how late a SIGTERM that landed on another thread is seen


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("up", help="start the cloud on this host (foreground)")
    add_data_dir(parser)
    parser.add_argument("--listen", type=listen_argument,
                        help="HOST:PORT for the APIs (default 127.0.0.1:8773)")
    parser.add_argument("--driver", choices=LOCAL_DRIVERS, help="hypervisor driver")
    parser.add_argument("--log-level", type=str.upper, choices=LEVELS,
                        help="least level logged (default: $OVERCAST_LOG_LEVEL or INFO)")
    parser.add_argument("--log-format", choices=FORMATS,
                        help="text, or json: one object per line "
                        "(default: $OVERCAST_LOG_FORMAT or text)")
    parser.add_argument("--network-mode", choices=NETWORK_MODES,
                        help="user: user-mode networking, no root needed (default); kernel: "
                        "a namespace per VPC with routing, nftables security groups and "
                        "dnsmasq (needs root, ip, nft, dnsmasq)")
    parser.add_argument("--public-cidr", metavar="CIDR",
                        help="kernel networking: the cloud's public network, where Elastic "
                        "IPs and NAT gateways answer (e.g. 203.0.113.0/24); by default a "
                        "bridge in a namespace of the cloud's own, its gateway the first "
                        "address (OVERCAST_PUBLIC_GATEWAY to choose another)")
    parser.add_argument("--public-bridge", metavar="IFACE",
                        help="with --public-cidr: a bridge of this host on that network (a real "
                        "LAN) that VPC routers join, instead of the cloud's own")
    parser.add_argument("--metadata-listen-public", action="store_true",
                        help="allow a METADATA_LISTEN that is not a loopback address")
    parser.add_argument("--no-local-agent", action="store_true",
                        help="run no agent in this process: instances run only on hosts "
                        "joined with `overcast agent` (a controller of many hosts)")
    parser.set_defaults(func=run)


def _lock(data_dir: Path) -> int:
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / "up.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        raise SystemExit(f"error: another `overcast up` runs on {data_dir}") from exc
    return fd


def _serve_until(stopping: threading.Event, cloud: Cloud, purge_every: float) -> None:
    """Forget old terminated instances now and then until asked to stop. The wait is short:
    a signal that lands on another thread (waitress runs many) only reaches its Python
    handler when the main thread wakes up."""
    next_purge = time.monotonic() + purge_every
    while not stopping.wait(SIGNAL_POLL):
        if time.monotonic() >= next_purge:
            cloud.tidy()
            next_purge = time.monotonic() + purge_every


def _stop_on_signals() -> threading.Event:
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    return stopping


def _step(text: str) -> None:
    print(text, flush=True)


def _banner(settings: Settings, listen: str, made: Credentials | None) -> None:
    """The admin secret only on the start that made it; later starts say where to get it."""
    lines = [f"Overcast is up ({settings.driver} driver, data in {settings.data_dir})",
             f"  EC2 endpoint:      http://{listen}",
             f"  dashboard:         http://{listen}/dashboard (log in as a user: "
             "`overcast user set-password NAME`)",
             f"  region:            {settings.region}"]
    if made is not None:
        lines += [f"  project:           {made.project} (account {made.account_id})",
                  f"  access key:        {made.access_key_id}",
                  f"  secret key:        {made.secret_access_key}",
                  f"  admin password:    {made.admin_password} (user admin: dashboard, "
                  "Keystone)",
                  "  (first start: admin project, user and key created; the secret and the "
                  "password are shown only now)"]
    lines.append('Credentials, in another shell:  eval "$(overcast credentials --format env)"; '
                 "aws ec2 describe-instances")
    _step("\n".join(lines))


def _preflight(args: argparse.Namespace) -> Settings:
    """Settings, checked before anything is made: the addresses are free, the database is
    reachable, the data dir can be written."""
    settings = load_settings(data_dir=args.data_dir, listen=args.listen, driver=args.driver,
                             log_level=args.log_level, log_format=args.log_format,
                             network_mode=args.network_mode, public_cidr=args.public_cidr,
                             public_bridge=args.public_bridge)
    if settings.driver not in LOCAL_DRIVERS:
        raise CliError(f"unknown driver {settings.driver!r} "
                       f"(choose from {', '.join(LOCAL_DRIVERS)})")
    check_network_mode(settings)
    check_public_network(settings)
    check_can_listen(settings.listen, "--listen")
    check_can_listen(settings.metadata_listen, "OVERCAST_METADATA_LISTEN")
    check_database(settings.database_url)
    prepare_data_dir(settings.data_dir)
    return settings


def _local_agent(cloud: Cloud, settings: Settings,
                 metadata_endpoint: tuple[str, int] | None) -> Agent:
    """This host's own agent, in this process, registered."""
    _step(f"starting the agent ({settings.driver} driver, {settings.network_mode} networking)")
    driver = make_driver(settings)
    store = LocalStore(cloud, metadata_endpoint, settings.network_mode,
                       settings.underlay_ip or None)
    agent = Agent(store, driver, settings.host_name, cloud.catalog.default_zone,
                  settings.agent_interval,
                  network=make_network_driver(settings, metadata_endpoint),
                  storage=make_storage(settings))
    cloud.instances.console_readers[agent.register()] = driver.console_output
    return agent


def run(args: argparse.Namespace) -> int:
    settings = _preflight(args)
    configure_logging(settings.log_level, settings.log_format)
    lock = _lock(settings.data_dir)
    stopping = _stop_on_signals()
    cloud = Cloud(settings)
    _step(f"migrating the database ({shown_url(settings.sqlalchemy_url)})")
    cloud.prepare()
    cloud.tidy()  # before serving: uploads a crash cut short, files nothing uses
    made = cloud.identity.bootstrap()
    _step("checking the built-in image")
    ensure_builtin_image(cloud.images, cloud.settings)
    try:
        metadata = start_metadata_server(settings, cloud.metadata.facts,
                                         args.metadata_listen_public)
    except (MetadataListenError, RelayKeyError, OSError) as exc:
        raise SystemExit(f"error: metadata service: {exc}") from exc
    agent = None if args.no_local_agent else _local_agent(cloud, settings, metadata.endpoint)
    server = HttpServer(App(cloud, metadata.endpoint), settings.listen_host,
                        settings.listen_port)
    server.start()
    if agent is not None:
        agent.start()
    hyperv = HyperVHostAgents(cloud, settings.agent_interval)  # hosts from `overcast host add`
    hyperv.start()
    bursting = BurstSupervisor(cloud, settings.agent_interval)
    bursting.start()
    listen = f"{settings.listen_host}:{server.port}"
    _step(f"listening on http://{listen}")
    pointer = leave_pointer(settings, listen)  # before run.json: waiting on that finds both
    run_file(settings).write_text(json.dumps({"listen": listen, "pid": os.getpid()}))
    _banner(settings, listen, made)
    try:
        _serve_until(stopping, cloud, min(PURGE_EVERY, max(1.0,
                                                       settings.terminated_retention / 4)))
    finally:
        log.info("stopping")
        server.stop()
        if agent is not None:
            agent.stop()
        hyperv.stop()
        bursting.stop()
        metadata.stop()
        run_file(settings).unlink(missing_ok=True)
        pointer.unlink(missing_ok=True)
        cloud.db.dispose()
        os.close(lock)
    print("Overcast stopped.", flush=True)
    return 0
