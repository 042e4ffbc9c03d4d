"""`overcast agent`: this host's reconciler as its own process, joined to a controller over
its agent API.

    overcast agent --controller http://ctl:8773 --token ocjoin-… --name node2 --driver qemu

The first start spends the join token (`overcast host token create node2` on the controller)
for the host's credential, kept in the data dir: later starts rejoin without a token."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
from pathlib import Path

from overcast.agent.http_store import ControllerError, HttpStore, join
from overcast.agent.reconciler import Agent
from overcast.cli.preflight import CliError
from overcast.config import load_settings
from overcast.drivers.registry import LOCAL_DRIVERS, make_driver, make_storage
from overcast.logs import configure as configure_logging

log = logging.getLogger("overcast.agent")
CREDENTIAL_FILE = "agent-credential.json"
RETRY_EVERY = 2.0  # seconds between attempts to reach a controller that does not answer


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("agent", help="run this host's agent, joined to a controller")
    parser.add_argument("--controller", required=True, help="the controller's URL")
    parser.add_argument("--name", required=True, help="this host's name (as its token's)")
    parser.add_argument("--token", help="a join token (needed only on the first start)")
    parser.add_argument("--driver", choices=LOCAL_DRIVERS, help="hypervisor driver")
    parser.add_argument("--zone", default="", help="availability zone (default: the cloud's)")
    parser.add_argument("--data-dir", required=True, help="where this host keeps its VMs and "
                        "its credential")
    parser.set_defaults(func=run)


def credential(data_dir: Path, controller: str, name: str, token: str | None) -> str:
    """The host's credential: spent from the token when one is given, else the kept one."""
    path = data_dir / CREDENTIAL_FILE
    if token:
        try:
            found = join(controller, token, name)
        except ControllerError as exc:
            raise CliError(f"the controller refused the join: {exc.message}") from None
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({"host_name": name, "credential": found}, out)
        return found
    try:
        kept = json.loads(path.read_text())
    except (OSError, ValueError):
        raise CliError(f"no credential in {path}: give --token (from `overcast host token "
                       f"create {name}` on the controller)") from None
    if kept.get("host_name") != name:
        raise CliError(f"{path} holds the credential of host {kept.get('host_name')}")
    return str(kept["credential"])


def _register(agent: Agent, stopping: threading.Event) -> str:
    """Register with the controller, waiting for it while it does not answer."""
    while not stopping.is_set():
        try:
            return agent.register()
        except ControllerError as exc:
            raise CliError(f"the controller refused host {agent.host_name}: "
                           f"{exc.message}") from None
        except OSError as exc:
            log.warning("controller not reached (%s); trying again", exc)
            stopping.wait(RETRY_EVERY)
    return ""


def run(args: argparse.Namespace) -> int:
    settings = load_settings(data_dir=args.data_dir, driver=args.driver, host_name=args.name)
    configure_logging(settings.log_level, settings.log_format)
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    store = HttpStore(args.controller, credential(settings.data_dir, args.controller,
                                                  args.name, args.token))
    driver = make_driver(settings)
    agent = Agent(store, driver, args.name, args.zone, settings.agent_interval,
                  storage=make_storage(settings))
    host_id = _register(agent, stopping)
    if not host_id:
        return 0
    agent.start()
    (settings.data_dir / "agent-run.json").write_text(json.dumps(
        {"host_id": host_id, "pid": os.getpid()}))
    print(f"host {args.name} joined {args.controller} as {host_id} ({driver.name} driver)",
          flush=True)
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        agent.stop()
        store.close()
        (settings.data_dir / "agent-run.json").unlink(missing_ok=True)
    print("agent stopped", flush=True)
    return 0
