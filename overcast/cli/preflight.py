"""Checks `overcast` makes before it changes anything, each failing with one plain sentence:
a listen address, whether its port is free, a data dir it can write, a database it can reach,
what the network mode needs."""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from overcast.cloud.service import reach_database
from overcast.config import Settings
from overcast.drivers.base import KERNEL_NETWORK, NETWORK_MODES
from overcast.drivers.network.kernel import missing_requirements


class CliError(Exception):
    """An ordinary mistake or a missing piece: printed as `error: <message>`, exit 1."""


def split_listen(text: str) -> tuple[str, int]:
    """HOST:PORT (port 0 picks a free one), or ValueError saying what is wrong."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"not HOST:PORT: {text!r} (for example 127.0.0.1:8773)")
    if not 0 <= int(port) <= 65535:
        raise ValueError(f"port {port} is out of range (0-65535) in {text!r}")
    return host.strip("[]"), int(port)


def listen_argument(text: str) -> str:
    """argparse type for --listen: the subcommand's usage and the reason on a bad value."""
    try:
        split_listen(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def check_can_listen(listen: str, setting: str) -> None:
    """Fail now, before anything is made, if `listen` is malformed or its port is taken;
    `setting` is where it came from: a flag (--listen) or an environment variable."""
    try:
        host, port = split_listen(listen)
    except ValueError as exc:
        raise CliError(f"{setting}: {exc}") from None
    change = f"{setting} HOST:PORT" if setting.startswith("-") else f"{setting}=HOST:PORT"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
            probe.bind(address)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise CliError(f"cannot listen on {listen}: {reason.lower()} (is another overcast up "
                       f"running? choose another address with {change})") from None


def check_network_mode(settings: Settings) -> None:
    """Kernel networking needs root, its tools and the qemu driver; say which is missing."""
    if settings.network_mode not in NETWORK_MODES:
        raise CliError(f"unknown network mode {settings.network_mode!r} "
                       f"(choose from {', '.join(NETWORK_MODES)})")
    if settings.network_mode != KERNEL_NETWORK:
        return
    if settings.driver != "qemu":
        raise CliError(f"--network-mode kernel needs the qemu driver, not {settings.driver!r}")
    missing = missing_requirements()
    if missing:
        raise CliError(f"--network-mode kernel needs {', '.join(missing)} (run as root; "
                       "scripts/install-deps installs iproute2, nftables and dnsmasq-base), "
                       "or use --network-mode user")


def check_public_network(settings: Settings) -> None:
    """A public network needs kernel networking, a CIDR, a gateway in it and (when named) a
    bridge that exists."""
    if not (settings.public_cidr or settings.public_bridge):
        return
    if settings.network_mode != KERNEL_NETWORK:
        raise CliError("--public-cidr needs --network-mode kernel")
    if not settings.public_cidr:
        raise CliError("--public-bridge needs --public-cidr")
    try:
        network = ipaddress.IPv4Network(settings.public_cidr, strict=False)
        gateway = ipaddress.IPv4Address(settings.public_gateway_ip)
    except ValueError as exc:
        raise CliError(f"public network: {exc}") from None
    if gateway not in network or network.num_addresses < 4:
        raise CliError(f"public network {network}: too small, or its gateway {gateway} is "
                       "not in it")
    if settings.public_bridge and not Path(
            f"/sys/class/net/{settings.public_bridge}/bridge").is_dir():
        raise CliError(f"--public-bridge {settings.public_bridge}: no such bridge on this host")


def prepare_data_dir(data_dir: Path) -> None:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot use the data dir {data_dir}: {exc.strerror}") from None
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise CliError(f"cannot use the data dir {data_dir}: not writable by this user")


def shown_url(url: str) -> str:
    """A database URL fit to print: the password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable URL)"


def database_problem(url: str, exc: Exception) -> str:
    if isinstance(exc, ArgumentError | NoSuchModuleError):
        return f"cannot use the database URL {shown_url(url)}: {exc}"
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return (f"cannot connect to the database {shown_url(url)}: "
            f"{reason[0] if reason else type(exc).__name__}")


def check_database(url: str) -> None:
    """Connect once to a server database (SQLite files are made by `up` itself)."""
    if not url or url.startswith("sqlite"):
        return
    try:
        reach_database(url)
    except SQLAlchemyError as exc:
        raise CliError(database_problem(url, exc)) from None
