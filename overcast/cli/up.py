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
from overcast.cli.runtime import add_data_dir, run_file, settings_from
from overcast.cloud.service import Cloud
from overcast.drivers.registry import DRIVERS, make_driver
from overcast.identity.service import ADMIN_PROJECT
from overcast.images.builtin import ensure_builtin_image
from overcast.metadata.listen import MetadataListenError, start_metadata_server
from overcast.metadata.relayauth import RelayKeyError

log = logging.getLogger("overcast")
PURGE_EVERY = 60.0
SIGNAL_POLL = 0.5  # seconds: how late a SIGTERM that landed on another thread is seen


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("up", help="start the cloud on this host (foreground)")
    add_data_dir(parser)
    parser.add_argument("--listen", help="HOST:PORT for the APIs (default 127.0.0.1:8773)")
    parser.add_argument("--driver", choices=DRIVERS, help="hypervisor driver")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--metadata-listen-public", action="store_true",
                        help="allow a METADATA_LISTEN that is not a loopback address")
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
            cloud.instances.purge_terminated()
            next_purge = time.monotonic() + purge_every


def _stop_on_signals() -> threading.Event:
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    return stopping


def _banner(cloud: Cloud, listen: str, first_start: bool) -> None:
    creds = cloud.identity.credentials(ADMIN_PROJECT)
    print(f"Overcast is up ({cloud.settings.driver} driver, data in {cloud.settings.data_dir})\n"
          f"  EC2 endpoint:      http://{listen}\n"
          f"  region:            {cloud.settings.region}\n"
          f"  project:           {creds.project} (account {creds.account_id})\n"
          f"  access key:        {creds.access_key_id}\n"
          f"  secret key:        {creds.secret_access_key}\n"
          f"{'  (first start: admin project, user and key created)' if first_start else ''}\n"
          f"In another shell:   eval \"$(overcast credentials --data-dir "
          f"{cloud.settings.data_dir} --format env)\"; aws ec2 describe-instances",
          flush=True)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = settings_from(args, listen=args.listen, driver=args.driver)
    lock = _lock(settings.data_dir)
    stopping = _stop_on_signals()
    cloud = Cloud(settings)
    cloud.prepare()
    first_start = cloud.identity.bootstrap() is not None
    ensure_builtin_image(cloud)
    driver = make_driver(settings)
    try:
        metadata = start_metadata_server(settings, cloud.metadata.facts,
                                         args.metadata_listen_public)
    except (MetadataListenError, RelayKeyError, OSError) as exc:
        raise SystemExit(f"error: metadata service: {exc}") from exc
    agent = Agent(LocalStore(cloud, metadata.endpoint), driver, settings.host_name,
                  cloud.catalog.default_zone,
                  settings.agent_interval)
    cloud.instances.console_readers[agent.register()] = driver.console_output
    server = HttpServer(App(cloud), settings.listen_host, settings.listen_port)
    server.start()
    agent.start()
    hyperv = HyperVHostAgents(cloud, settings.agent_interval)  # hosts from `overcast host add`
    hyperv.start()
    bursting = BurstSupervisor(cloud, settings.agent_interval)
    bursting.start()
    listen = f"{settings.listen_host}:{server.port}"
    run_file(settings).write_text(json.dumps({"listen": listen, "pid": os.getpid()}))
    _banner(cloud, listen, first_start)
    try:
        _serve_until(stopping, cloud, min(PURGE_EVERY, max(1.0,
                                                       settings.terminated_retention / 4)))
    finally:
        log.info("stopping")
        server.stop()
        agent.stop()
        hyperv.stop()
        bursting.stop()
        metadata.stop()
        run_file(settings).unlink(missing_ok=True)
        cloud.db.dispose()
        os.close(lock)
    print("Overcast stopped.", flush=True)
    return 0
