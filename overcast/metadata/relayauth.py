"""How a metadata relay proves it speaks for an instance: challenge, then HMAC.

The metadata server opens every connection with a fresh random challenge,

    OVERCAST-CHALLENGE <32 hex digits>\\r\\n

and the relay must answer, before any byte of the guest's,

    OVERCAST-INSTANCE <instance-id> <hex HMAC-SHA256(key, "overcast-metadata-relay" \\n
                                                         challenge \\n instance-id)>\\r\\n

The key is the cloud's relay key: 32 random bytes, hex, in a file of the data directory that
only the cloud's user can read (mode 0600). Its path may appear on command lines; the key
never does. A process that cannot read the file cannot name an instance, and a line seen once
is useless on any other connection, whose challenge differs. (Like Neutron's metadata proxy,
which signs X-Instance-ID with a shared secret, with a per-connection challenge added so
that nothing can be replayed.)

overcast/drivers/qemu/mdrelay.py computes the same signature; it imports nothing from overcast.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

CHALLENGE = "OVERCAST-CHALLENGE"
INSTANCE = "OVERCAST-INSTANCE"
KEY_FILE = "metadata-relay.key"
KEY_BYTES = 32
MAX_LINE = 256


class RelayKeyError(ValueError):
    """The relay key file exists but holds no key."""


def key_path(data_dir: Path) -> Path:
    return data_dir / KEY_FILE


def signature(key: bytes, challenge: str, instance_id: str) -> str:
    message = f"overcast-metadata-relay\n{challenge}\n{instance_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def new_challenge() -> str:
    return secrets.token_hex(16)


def challenge_line(challenge: str) -> bytes:
    return f"{CHALLENGE} {challenge}\r\n".encode()


def verified_instance(key: bytes, challenge: str, line: bytes) -> str | None:
    """The instance a relay's answer names, if it is signed for this challenge; else None."""
    if not line.endswith(b"\r\n") or not line.isascii():
        return None
    words = line[:-2].decode("ascii").split(" ")
    if len(words) != 3 or words[0] != INSTANCE or not words[1]:
        return None
    expected = signature(key, challenge, words[1])
    return words[1] if hmac.compare_digest(expected, words[2]) else None


def ensure_key(path: Path) -> bytes:
    """The relay key in `path`, made on first use; always readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        return _read_key(path)
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_hex(KEY_BYTES) + "\n")
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    try:
        key = bytes.fromhex(path.read_text().strip())
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise RelayKeyError(f"{path} does not hold a metadata relay key ({KEY_BYTES} bytes, "
                            "hex); remove it to make a new one")
    return key
