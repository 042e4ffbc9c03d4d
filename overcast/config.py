"""Typed settings: environment > config file (DATA_DIR/overcast.toml) > defaults."""

from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "OVERCAST_"
ENVIRONMENT = "the environment"


class SettingsError(ValueError):
    """A setting that cannot be read (bad TOML, a number that is not one)."""


def default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "overcast"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = default_data_dir()
    database_url: str = ""  # empty: SQLite in data_dir
    listen: str = "127.0.0.1:8773"
    # where guests' metadata connections are relayed to (fixed, so restarts keep it)
    metadata_listen: str = "127.0.0.1:8775"
    # a metadata_listen that is not loopback is refused unless this is set
    metadata_listen_public: bool = False
    driver: str = "qemu"
    region: str = "overcast-1"
    host_name: str = "local"
    # the fake driver's knobs (tests and benchmarks)
    fake_boot_delay: float = 0.5
    fake_vcpus: int = 64
    fake_memory_mib: int = 262144
    fake_disk_gib: int = 2048
    # qemu
    qemu_accel: str = "auto"
    # how guests are wired: "user" (user-mode networking, no root needed) or "kernel" (tap
    # devices in a namespace per VPC: routing, nftables security groups, dnsmasq; needs root)
    network_mode: str = "user"
    # this host's address on the network that carries VXLAN between hosts (kernel mode with
    # several hosts; empty: instances of a VPC on other hosts are not reached)
    underlay_ip: str = ""
    # kernel mode: the cloud's public network, where Elastic IPs and NAT gateways answer (empty:
    # none). `public_bridge`: a bridge of the host (a real LAN) that VPC routers join; empty:
    # a bridge in a namespace of the cloud's own, holding `public_gateway` (default: the CIDR's
    # first address), never one of the machine's interfaces
    public_cidr: str = ""
    public_gateway: str = ""
    public_bridge: str = ""
    # scheduling
    cpu_allocation_ratio: float = 4.0
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0
    # per-project quota defaults
    default_max_instances: int = 20
    default_max_vcpus: int = 64
    default_max_images: int = 100  # images a project holds (any state but deleted)
    default_max_image_gib: float = 500.0  # the sizes of those images, together
    default_max_elastic_ips: int = 5  # as AWS's default per region
    default_max_volumes: int = 50  # EBS volumes a project holds (any state but deleted)
    default_max_volume_gib: int = 1000  # the sizes of those volumes, together
    # the cloud's public addresses that Elastic IPs come from; in user-mode networking they
    # must be addresses this host can bind (loopback), apart from the auto-assigned 127.100/16
    elastic_ip_pool: str = "127.101.0.0/16"
    # prefix length of each zone's default subnet in the default VPC 172.31.0.0/16 (AWS: /20,
    # 4091 addresses; benchmarks with more instances per zone use a shorter prefix)
    default_subnet_prefix: int = 20
    # how long terminated instances stay visible, in seconds
    terminated_retention: float = 3600.0
    agent_interval: float = 1.0
    # seconds a host's agent may stay silent before the host is down: no new instances go
    # there and its running instances read as impaired (nothing is deleted)
    host_down_after: float = 30.0
    # `overcast up`'s log: text or json (one object per line), and the least level shown
    log_format: str = "text"
    log_level: str = "INFO"
    # empty: /metrics answers anyone who reaches the API address (like most exporters); else
    # scrapers must send `Authorization: Bearer <token>`
    metrics_token: str = ""

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'overcast.db'}"

    @property
    def public_gateway_ip(self) -> str:
        """The public network's gateway: as set, or the first address of public_cidr."""
        if self.public_gateway or not self.public_cidr:
            return self.public_gateway
        return str(ipaddress.IPv4Network(self.public_cidr, strict=False).network_address + 1)

    @property
    def listen_host(self) -> str:
        return self.listen.rsplit(":", 1)[0]

    @property
    def listen_port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])


def _coerce(name: str, current: object, raw: object) -> object:
    if isinstance(current, Path):
        return Path(str(raw)).expanduser()
    if isinstance(current, bool):
        return str(raw).lower() in ("1", "true", "yes", "on")
    if isinstance(current, int):
        return int(str(raw))
    if isinstance(current, float):
        return float(str(raw))
    return str(raw)


def load_settings(**overrides: object) -> Settings:
    """Build settings; `overrides` (from the command line) win over everything else."""
    settings = Settings()
    data_dir = overrides.get("data_dir") or os.environ.get(ENV_PREFIX + "DATA_DIR")
    if data_dir:
        settings = replace(settings, data_dir=Path(str(data_dir)).expanduser())
    layers: list[tuple[str, dict[str, object]]] = []
    config_file = settings.data_dir / "overcast.toml"
    if config_file.exists():
        try:
            layers.append((str(config_file), tomllib.loads(config_file.read_text())))
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{config_file} is not valid TOML: {exc}") from None
    layers.append((ENVIRONMENT, {
        f.name: os.environ[ENV_PREFIX + f.name.upper()]
        for f in fields(Settings) if ENV_PREFIX + f.name.upper() in os.environ}))
    layers.append(("the command line", {k: v for k, v in overrides.items() if v is not None}))
    for source, layer in layers:
        changes: dict[str, Any] = {}
        for f in fields(Settings):
            if f.name in layer:
                current = getattr(settings, f.name)
                try:
                    changes[f.name] = _coerce(f.name, current, layer[f.name])
                except ValueError:
                    name = ENV_PREFIX + f.name.upper() if source == ENVIRONMENT else f.name
                    kind = "whole number" if isinstance(current, int) else "number"
                    raise SettingsError(f"{name} in {source} is not a {kind}: "
                                        f"{layer[f.name]!r}") from None
        settings = replace(settings, **changes)
    return settings
