"""Starting the metadata server where the settings say, and only where it is safe by default.

Relays sign their connections (relayauth.py), but the documents then travel in the clear: a
non-loopback METADATA_LISTEN would put every guest's user data on the network. `overcast up`
refuses one unless METADATA_LISTEN_PUBLIC is set (or --metadata-listen-public is given).
"""

from __future__ import annotations

import ipaddress

from overcast.config import Settings
from overcast.metadata import relayauth
from overcast.metadata.server import FactsSource, MetadataServer

LOOPBACK_NAMES = ("localhost",)


class MetadataListenError(ValueError):
    """METADATA_LISTEN is malformed, or public without the switch that allows it."""


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def listen_address(settings: Settings, allow_public: bool = False) -> tuple[str, int]:
    """(host, port) from METADATA_LISTEN, checked."""
    value = settings.metadata_listen
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise MetadataListenError(f"METADATA_LISTEN {value!r} is not HOST:PORT")
    if not is_loopback(host) and not (allow_public or settings.metadata_listen_public):
        raise MetadataListenError(
            f"METADATA_LISTEN {value} is not a loopback address: guests' metadata would be "
            "served to the network; pass --metadata-listen-public or set "
            "OVERCAST_METADATA_LISTEN_PUBLIC=1 to allow it")
    return host, int(port)


def start_metadata_server(settings: Settings, facts_of: FactsSource,
                          allow_public: bool = False) -> MetadataServer:
    """The running metadata server, its relay key made on first start (DATA_DIR, 0600)."""
    host, port = listen_address(settings, allow_public)
    key = relayauth.ensure_key(relayauth.key_path(settings.data_dir))
    server = MetadataServer(facts_of, host, port, relay_key=key)
    server.start()
    return server
