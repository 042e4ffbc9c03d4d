"""Key pairs: made here (RSA or ED25519) or imported, with fingerprints as AWS computes them."""

from __future__ import annotations

import base64
import builtins
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.cloud import filters as flt
from overcast.cloud import tags as tagsvc
from overcast.cloud.compute.records import KeyPairRecord
from overcast.db import Database, utcnow
from overcast.db.models import KeyPair
from overcast.errors import Conflict, InvalidParameter, NotFound, invalid
from overcast.identity.context import Context
from overcast.ids import new_id

ENC = serialization.Encoding
PUB = serialization.PublicFormat
PRIV = serialization.PrivateFormat


KEY_FILTERS: dict[str, flt.Extractor] = {
    "key-name": lambda t: t.item.name,
    "key-pair-id": lambda t: t.item.id,
    "fingerprint": lambda t: t.item.fingerprint,
    "key-type": lambda t: t.item.key_type,
}


@dataclass(frozen=True)
class NewKeyPair:
    pair: KeyPairRecord
    material: str  # the private key, shown once


def _colon_hex(digest: bytes) -> str:
    return ":".join(f"{b:02x}" for b in digest)


def _openssh_public(key: rsa.RSAPublicKey | ed25519.Ed25519PublicKey
                    | ec.EllipticCurvePublicKey) -> str:
    return key.public_bytes(ENC.OpenSSH, PUB.OpenSSH).decode()


def _sha256_fingerprint(public_openssh: str) -> str:
    blob = base64.b64decode(public_openssh.split()[1])
    return base64.b64encode(hashlib.sha256(blob).digest()).decode()


def _rsa_import_fingerprint(key: rsa.RSAPublicKey) -> str:
    return _colon_hex(hashlib.md5(key.public_bytes(ENC.DER, PUB.SubjectPublicKeyInfo)).digest())


def generate(key_type: str) -> tuple[str, str, str]:
    """(private key material, OpenSSH public key, fingerprint)."""
    if key_type == "ed25519":
        private = ed25519.Ed25519PrivateKey.generate()
        material = private.private_bytes(ENC.PEM, PRIV.OpenSSH, serialization.NoEncryption())
        public = _openssh_public(private.public_key())
        return material.decode(), public, _sha256_fingerprint(public)
    private_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs8 = private_rsa.private_bytes(ENC.DER, PRIV.PKCS8, serialization.NoEncryption())
    material = private_rsa.private_bytes(ENC.PEM, PRIV.TraditionalOpenSSL,
                                         serialization.NoEncryption())
    public = _openssh_public(private_rsa.public_key())
    return material.decode(), public, _colon_hex(hashlib.sha1(pkcs8).digest())


def parse_public_key(material: bytes, allow_ecdsa: bool = False) -> tuple[str, str, str]:
    """(key type, OpenSSH public key, fingerprint) of an imported key. EC2 takes RSA and
    ED25519 keys; Nova also ECDSA ones (`allow_ecdsa`)."""
    text = material.strip()
    try:
        key = (serialization.load_pem_public_key(text) if text.startswith(b"-----")
               else serialization.load_ssh_public_key(text))
    except (ValueError, TypeError, IndexError, UnicodeDecodeError, UnsupportedAlgorithm) as exc:
        raise InvalidParameter("InvalidKey.Format",
                               "Key is not in valid OpenSSH public key format") from exc
    if isinstance(key, ed25519.Ed25519PublicKey):
        public = _openssh_public(key)
        return "ed25519", public, _sha256_fingerprint(public)
    if allow_ecdsa and isinstance(key, ec.EllipticCurvePublicKey):
        public = _openssh_public(key)
        return "ecdsa", public, _sha256_fingerprint(public)
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size not in (1024, 2048, 4096) and not 2048 <= key.key_size <= 4096:
            raise InvalidParameter("InvalidKey.Format",
                                   f"Unsupported RSA key size {key.key_size}.")
        return "rsa", _openssh_public(key), _rsa_import_fingerprint(key)
    raise InvalidParameter("InvalidKey.Format", "Only RSA and ED25519 keys are supported.")


def _check_name(name: str) -> None:
    if not name or len(name) > 255 or not name.isascii():
        raise invalid("The key pair name must be 1 to 255 ASCII characters.")


class KeyPairs:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _store(self, ctx: Context, name: str, key_type: str, public: str,
               fingerprint: str) -> KeyPairRecord:
        _check_name(name)
        with self.db.session() as s:
            if s.scalar(select(KeyPair.id).where(KeyPair.project_id == ctx.project_id,
                                                 KeyPair.name == name)):
                raise Conflict("InvalidKeyPair.Duplicate", f"The keypair '{name}' already exists.")
            pair = KeyPair(id=new_id("key"), project_id=ctx.project_id, name=name,
                           key_type=key_type, fingerprint=fingerprint, public_key=public,
                           created_at=utcnow())
            s.add(pair)
            return KeyPairRecord.of(pair)

    def create(self, ctx: Context, name: str, key_type: str = "rsa") -> NewKeyPair:
        if key_type not in ("rsa", "ed25519"):
            raise invalid(f"Value ({key_type}) for parameter keyType is invalid.")
        _check_name(name)
        if self.find(ctx, name) is not None:
            raise Conflict("InvalidKeyPair.Duplicate", f"The keypair '{name}' already exists.")
        material, public, fingerprint = generate(key_type)
        return NewKeyPair(self._store(ctx, name, key_type, public, fingerprint), material)

    def import_key(self, ctx: Context, name: str, material: bytes,
                   allow_ecdsa: bool = False) -> KeyPairRecord:
        key_type, public, fingerprint = parse_public_key(material, allow_ecdsa)
        return self._store(ctx, name, key_type, public, fingerprint)

    def find(self, ctx: Context, name: str, s: Session | None = None) -> KeyPairRecord | None:
        if s is None:
            with self.db.read() as s:
                return self.find(ctx, name, s)
        found = s.scalar(select(KeyPair).where(KeyPair.project_id == ctx.project_id,
                                               KeyPair.name == name))
        return None if found is None else KeyPairRecord.of(found)

    def get(self, ctx: Context, name: str, s: Session | None = None) -> KeyPairRecord:
        pair = self.find(ctx, name, s)
        if pair is None:
            raise NotFound("InvalidKeyPair.NotFound", f"The key pair '{name}' does not exist")
        return pair

    def list(self, ctx: Context) -> list[KeyPairRecord]:
        with self.db.read() as s:
            return [KeyPairRecord.of(p) for p in s.scalars(
                select(KeyPair).where(KeyPair.project_id == ctx.project_id))]

    def describe(self, ctx: Context, names: builtins.list[str], ids: builtins.list[str],
                 filters: builtins.list[flt.Filter]) -> builtins.list[flt.Tagged[KeyPairRecord]]:
        flt.check_filters(filters, KEY_FILTERS)
        with self.db.read() as s:
            pairs = [KeyPairRecord.of(p) for p in s.scalars(
                select(KeyPair).where(KeyPair.project_id == ctx.project_id))]
            tags = tagsvc.for_resources(s, ctx.project_id, [p.id for p in pairs])
        for wanted, attr in ((names, "name"), (ids, "id")):
            missing = set(wanted) - {getattr(p, attr) for p in pairs}
            if missing:
                raise NotFound("InvalidKeyPair.NotFound",
                               f"The key pair '{sorted(missing)[0]}' does not exist")
        pairs = [p for p in pairs if (not names or p.name in names) and (not ids or p.id in ids)]
        items = flt.apply([flt.Tagged(p, tags.get(p.id, {})) for p in pairs], filters,
                          KEY_FILTERS)
        return sorted(items, key=lambda t: t.item.name)

    def delete(self, ctx: Context, name: str | None, pair_id: str | None) -> None:
        """EC2 answers success for a name that does not exist; an unknown ID is an error."""
        with self.db.session() as s:
            query = select(KeyPair).where(KeyPair.project_id == ctx.project_id)
            query = query.where(KeyPair.id == pair_id if pair_id else KeyPair.name == name)
            pair = s.scalar(query)
            if pair is None and pair_id:
                raise NotFound("InvalidKeyPair.NotFound",
                               f"The key pair '{pair_id}' does not exist")
            if pair is not None:
                s.delete(pair)
