"""Running `ip`, `nft` and `sysctl`, in the host or in a VPC's namespace."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

from overcast.drivers.network.base import NetworkError

TIMEOUT = 30.0


def run(argv: list[str], stdin: str | None = None, check: bool = True) -> str:
    """Run a command, return its standard output; NetworkError with its message on failure."""
    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True,
                              timeout=TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NetworkError(f"{argv[0]}: {exc}") from exc
    if check and done.returncode != 0:
        raise NetworkError(f"{' '.join(argv[:6])}: {done.stderr.strip() or done.returncode}")
    return done.stdout


def in_netns(netns: str | None, argv: list[str]) -> list[str]:
    """argv run inside `netns` (None: where the caller runs)."""
    return argv if netns is None else ["ip", "netns", "exec", netns, *argv]


def ip(netns: str | None, *args: str, check: bool = True) -> str:
    return run(["ip", *(["-n", netns] if netns else []), *args], check=check)


def ip_json(netns: str | None, *args: str) -> list[dict[str, Any]]:
    out = ip(netns, "-j", *args).strip()
    return json.loads(out) if out else []


def ip_batch(netns: str | None, lines: list[str]) -> None:
    """Many `ip` commands in one process; each line is an `ip` command without `ip`."""
    if lines:
        run(["ip", *(["-n", netns] if netns else []), "-batch", "-"],
            stdin="\n".join(lines) + "\n")


def sysctl(netns: str, settings: dict[str, str]) -> None:
    if settings:
        run(in_netns(netns, ["sysctl", "-q", "-w",
                             *(f"{key}={value}" for key, value in settings.items())]))


def nft(netns: str, script: str) -> None:
    """Apply an nftables script in one atomic transaction."""
    run(in_netns(netns, ["nft", "-f", "-"]), stdin=script)


def nft_json(netns: str, *args: str) -> list[dict[str, Any]]:
    out = run(in_netns(netns, ["nft", "-j", *args])).strip()
    if not out:
        return []
    items: list[dict[str, Any]] = json.loads(out).get("nftables", [])
    return items


def namespaces() -> set[str]:
    return {line.split()[0] for line in ip(None, "netns", "list").splitlines() if line.strip()}


TOOLS = ("ip", "nft", "dnsmasq", "sysctl", "bridge")


def missing_requirements() -> list[str]:
    """What this host lacks to run the kernel driver: root, and each of its tools."""
    missing = [] if os.geteuid() == 0 else ["root"]
    return missing + [tool for tool in TOOLS if shutil.which(tool) is None]
