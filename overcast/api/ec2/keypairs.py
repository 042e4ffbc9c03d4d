"""EC2 key pair actions."""

from __future__ import annotations

from typing import Any

from overcast.api.ec2.dispatch import Call, action, dry_run_check, tag_list, tags_for
from overcast.clock import as_utc
from overcast.cloud import filters as flt
from overcast.cloud import tags as tagsvc
from overcast.cloud.compute import KeyPairRecord
from overcast.errors import InvalidParameter


def _name(call: Call) -> str:
    name = call.get("KeyName")
    if not name:
        raise InvalidParameter("MissingParameter",
                               "The request must contain the parameter KeyName")
    return name


def _tag(call: Call, pair: KeyPairRecord) -> dict[str, str]:
    tags = tags_for(call, "key-pair")
    if tags:
        call.cloud.tags.create(call.ctx, [pair.id], tags)
    return tags


@action("CreateKeyPair")
def create_key_pair(call: Call) -> dict[str, Any]:
    name = _name(call)
    if call.get("KeyFormat", "pem") != "pem":
        raise InvalidParameter("InvalidParameterValue", "Only the pem key format is supported.")
    tagsvc.validate(tags_for(call, "key-pair"))
    dry_run_check(call)
    made = call.cloud.keypairs.create(call.ctx, name, call.get("KeyType", "rsa"))
    return {"KeyName": made.pair.name, "KeyFingerprint": made.pair.fingerprint,
            "KeyMaterial": made.material, "KeyPairId": made.pair.id,
            "Tags": tag_list(_tag(call, made.pair))}


@action("ImportKeyPair")
def import_key_pair(call: Call) -> dict[str, Any]:
    name = _name(call)
    material = call.get("PublicKeyMaterial")
    if not material:
        raise InvalidParameter("MissingParameter",
                               "The request must contain the parameter PublicKeyMaterial")
    tagsvc.validate(tags_for(call, "key-pair"))
    dry_run_check(call)
    pair = call.cloud.keypairs.import_key(call.ctx, name, material)
    return {"KeyName": pair.name, "KeyFingerprint": pair.fingerprint, "KeyPairId": pair.id,
            "Tags": tag_list(_tag(call, pair))}


def _render(tagged: flt.Tagged[KeyPairRecord], with_public: bool) -> dict[str, Any]:
    pair = tagged.item
    return {"KeyPairId": pair.id, "KeyFingerprint": pair.fingerprint, "KeyName": pair.name,
            "KeyType": pair.key_type, "CreateTime": as_utc(pair.created_at),
            "Tags": tag_list(tagged.tags),
            "PublicKey": pair.public_key if with_public else None}


@action("DescribeKeyPairs")
def describe_key_pairs(call: Call) -> dict[str, Any]:
    names, ids = call.get("KeyNames", []), call.get("KeyPairIds", [])
    filters = flt.parse_filters(call.get("Filters"))
    items = call.cloud.keypairs.describe(call.ctx, names, ids, filters)
    dry_run_check(call)
    with_public = bool(call.get("IncludePublicKey"))
    return {"KeyPairs": [_render(t, with_public) for t in items]}


@action("DeleteKeyPair")
def delete_key_pair(call: Call) -> dict[str, Any]:
    name, pair_id = call.get("KeyName"), call.get("KeyPairId")
    if not name and not pair_id:
        raise InvalidParameter("MissingParameter",
                               "The request must contain the parameter KeyName or KeyPairId")
    dry_run_check(call)
    call.cloud.keypairs.delete(call.ctx, name, pair_id)
    return {"Return": True, "KeyPairId": pair_id}
