"""The test image's shell reading SSH keys from a config drive's meta_data.json, run in the
same busybox the image ships (busybox-static), on documents as Overcast writes them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from overcast.images.guestinit import RC_BOOT

BUSYBOX = "/bin/busybox"
pytestmark = pytest.mark.skipif(not os.path.exists(BUSYBOX), reason="needs busybox-static")


def public_keys(tmp_path: Path, document: str) -> list[str]:
    start = RC_BOOT.index("json_public_keys() {")
    end = RC_BOOT.index("\n}\n", start) + 3
    script = tmp_path / "keys.sh"
    script.write_text(RC_BOOT[start:end] + 'json_public_keys "$1"\n')
    meta = tmp_path / "meta_data.json"
    meta.write_text(document)
    out = subprocess.run([BUSYBOX, "sh", str(script), str(meta)], check=True,
                         capture_output=True, text=True).stdout
    return out.splitlines()


def meta_data(keys: dict[str, str]) -> dict:
    """Shaped like overcast.metadata.documents.openstack_meta_data."""
    return {"uuid": "5e1f", "name": "i-0abc", "hostname": "ip-172-31-0-4",
            "availability_zone": "overcast-1a", "project_id": "p", "launch_index": 0,
            "public_keys": keys,
            "keys": [{"name": n, "type": "ssh", "data": d} for n, d in keys.items()],
            "meta": {"Name": "web"}, "devices": []}


@pytest.mark.parametrize("indent", [None, 2])
def test_keys_come_out_one_a_line(tmp_path: Path, indent: int | None) -> None:
    keys = {"k1": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2e k1@host\n",
            "k2": "ssh-rsa AAAAB3NzaC1yc2E/x+y== ops"}
    document = json.dumps(meta_data(keys), indent=indent)
    assert public_keys(tmp_path, document) == [
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2e k1@host", "ssh-rsa AAAAB3NzaC1yc2E/x+y== ops"]


def test_quotes_and_slashes_escaped_by_json(tmp_path: Path) -> None:
    key = 'ssh-ed25519 AAAAC3Nz/ab+c= a "quoted" comment'
    document = json.dumps(meta_data({'my "key"': key})).replace("/", "\\/")
    assert public_keys(tmp_path, document) == [key]


def test_no_keys(tmp_path: Path) -> None:
    assert public_keys(tmp_path, json.dumps(meta_data({}))) == []
    assert public_keys(tmp_path, json.dumps({"uuid": "x"})) == []


def rc_function(name: str) -> str:
    start = RC_BOOT.index(f"{name}() {{")
    return RC_BOOT[start:RC_BOOT.index("\n}\n", start) + 3]


@pytest.mark.skipif(not os.path.exists("/usr/bin/dropbearkey"), reason="needs dropbear-bin")
def test_the_console_shows_the_host_key_as_ssh_keygen_fingerprints_it(tmp_path: Path) -> None:
    """cloud-init's blocks, with the line `ssh-keygen -l` prints for the key ssh is shown."""
    key = tmp_path / "dropbear_ed25519_host_key"
    subprocess.run(["dropbearkey", "-t", "ed25519", "-f", str(key)], check=True,
                   capture_output=True)
    script = tmp_path / "print.sh"
    script.write_text(rc_function("print_host_key") + 'print_host_key "$1"\n')
    out = subprocess.run([BUSYBOX, "sh", str(script), str(key)], check=True,
                         capture_output=True, text=True).stdout.splitlines()
    assert out[0] == "-----BEGIN SSH HOST KEY FINGERPRINTS-----"
    assert out[2] == "-----END SSH HOST KEY FINGERPRINTS-----"
    assert out[3] == "-----BEGIN SSH HOST KEY KEYS-----"
    assert out[5] == "-----END SSH HOST KEY KEYS-----"
    public = tmp_path / "key.pub"
    public.write_text(out[4] + "\n")
    keygen = subprocess.run(["ssh-keygen", "-lf", str(public)], check=True,
                            capture_output=True, text=True).stdout.strip()
    assert out[1] == keygen and keygen.startswith("256 SHA256:") and keygen.endswith("(ED25519)")
