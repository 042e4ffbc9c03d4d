"""The EC2 Query protocol, driven by botocore's own EC2 service model.

Requests arrive as flat ``Name.1.Member=value`` pairs (the inverse of botocore's
``EC2Serializer``); responses go out as the XML that botocore's ``EC2QueryParser`` reads.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape

XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/"
XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'

MAX_LIST_ITEMS = 1000
MAX_STRING_CHARS = 16 * 1024 * 1024
MAX_PARAMS = 20000
MAX_NAME_DEPTH = 24
_INT_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_INT_RE = re.compile(r"-?[0-9]{1,20}")


class Ec2Error(Exception):
    """An error EC2 clients understand: rendered with :func:`serialize_error`."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


# --------------------------------------------------------------------------- model


@cache
def service_model() -> ServiceModel:
    """botocore's EC2 service model, loaded once."""
    return botocore.session.get_session().get_service_model("ec2")


@cache
def _operation_names() -> frozenset[str]:
    return frozenset(service_model().operation_names)


@cache
def _cached_operation(action: str) -> OperationModel:
    return service_model().operation_model(action)


def operation_model(action: str) -> OperationModel:
    """The botocore operation for an EC2 ``Action``; ``InvalidAction`` if there is none."""
    if action not in _operation_names():
        raise Ec2Error(
            "InvalidAction", f"The action {_show(action)} is not valid for this web service."
        )
    return _cached_operation(action)


def _show(value: str, limit: int = 100) -> str:
    return value if len(value) <= limit else value[:limit] + "..."


# --------------------------------------------------------------------------- parsing

_Tree = dict[str, "_Tree | str"]


def _wire_name(shape: Shape, member_name: str) -> str:
    """The request name botocore's EC2 serializer gives a structure member."""
    ser = shape.serialization
    if "queryName" in ser:
        return ser["queryName"]
    if "name" in ser:
        name = ser["name"]
        return name[0].upper() + name[1:]
    return member_name


_MEMBER_MAPS: dict[str, dict[str, tuple[str, Shape]]] = {}


def _member_map(shape: Shape) -> dict[str, tuple[str, Shape]]:
    """Wire name -> (member name, member shape) for a structure."""
    found = _MEMBER_MAPS.get(shape.name)
    if found is None:
        found = {_wire_name(m, name): (name, m) for name, m in shape.members.items()}
        _MEMBER_MAPS[shape.name] = found
    return found


def _unknown(name: str) -> Ec2Error:
    return Ec2Error("UnknownParameter", f"The parameter {_show(name)} is not recognized")


def _invalid(name: str, value: str, why: str) -> Ec2Error:
    return Ec2Error(
        "InvalidParameterValue",
        f"Value ({_show(value)}) for parameter {_show(name)} is invalid. {why}",
    )


# What SigV2 and SigV4 signatures carry as parameters: checked before parsing, not inputs.
_AUTH_PARAMS = frozenset({"Action", "Version", "AWSAccessKeyId", "SignatureVersion",
                          "SignatureMethod", "Signature", "Timestamp", "Expires"})


def _ignored(key: str) -> bool:
    return key in _AUTH_PARAMS or key.startswith("X-Amz-")


def _build_tree(params: Mapping[str, str]) -> _Tree:
    if len(params) > MAX_PARAMS:
        raise Ec2Error("InvalidParameterValue", f"Too many parameters (over {MAX_PARAMS}).")
    root: _Tree = {}
    for key, value in params.items():
        if _ignored(key):
            continue
        parts = key.split(".")
        if len(parts) > MAX_NAME_DEPTH or "" in parts:
            raise _unknown(key)
        node = root
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise _unknown(key)
            node = child
        if parts[-1] in node:
            raise _unknown(key)
        node[parts[-1]] = value
    return root


def parse_params(op: OperationModel, params: Mapping[str, str]) -> dict[str, Any]:
    """Turn flat EC2 query parameters into botocore-style input for ``op``."""
    tree = _build_tree(params)
    shape = op.input_shape
    if shape is None:
        if tree:
            raise _unknown(next(iter(tree)))
        return {}
    return _parse_structure(shape, tree, "")


def _parse_structure(shape: Shape, node: _Tree | str, path: str) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise _invalid(path, node, "Expected a structure.")
    members = _member_map(shape)
    result: dict[str, Any] = {}
    for key, raw in node.items():
        # botocore upper-cases locationNames; older clients send them as modelled
        entry = members.get(key) or members.get(key[:1].upper() + key[1:])
        full = f"{path}.{key}" if path else key
        if entry is None or entry[0] in result:
            raise _unknown(full)
        result[entry[0]] = _parse_value(entry[1], raw, full)
    for required in shape.required_members:
        if required not in result:
            wire = _wire_name(shape.members[required], required)
            name = f"{path}.{wire}" if path else wire
            raise Ec2Error("MissingParameter", f"The request must contain the parameter {name}")
    return result


def _parse_list(shape: Shape, node: _Tree | str, path: str) -> list[Any]:
    if isinstance(node, str):
        if node == "":
            return []
        if shape.member.type_name in _SCALARS:
            # EC2 takes an unnumbered name as a list of one (InstanceId=i-..., KeyName=k1)
            return [_parse_value(shape.member, node, path)]
        raise _invalid(path, node, "Expected a list (Name.1, Name.2, ...).")
    indexed: list[tuple[int, str]] = []
    for key in node:
        # EC2 orders items by their number, from 0 as well as 1 (libcloud counts from 0)
        if not (key.isascii() and key.isdigit()) or (key[0] == "0" and key != "0") \
                or len(key) > 4:
            raise _invalid(f"{path}.{key}", key, "List indices must be non-negative integers.")
        if int(key) > MAX_LIST_ITEMS:
            raise _invalid(f"{path}.{key}", key, f"A list holds at most {MAX_LIST_ITEMS} items.")
        indexed.append((int(key), key))
    indexed.sort()
    member = shape.member
    return [_parse_value(member, node[key], f"{path}.{key}") for _, key in indexed]


def _parse_value(shape: Shape, raw: _Tree | str, path: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _parse_structure(shape, raw, path)
    if kind == "list":
        return _parse_list(shape, raw, path)
    if isinstance(raw, dict):
        raise _unknown(f"{path}.{next(iter(raw))}")
    if len(raw) > MAX_STRING_CHARS:
        raise _invalid(path, raw, f"Values are limited to {MAX_STRING_CHARS} characters.")
    convert = _SCALARS.get(kind)
    if convert is None:
        raise _unknown(path)
    return convert(shape, raw, path)


def _check_range(shape: Shape, number: float, raw: str, path: str) -> None:
    low = shape.metadata.get("min")
    high = shape.metadata.get("max")
    if low is not None and number < low:
        raise _invalid(path, raw, f"The value must be at least {low}.")
    if high is not None and number > high:
        raise _invalid(path, raw, f"The value must be at most {high}.")


def _parse_int(shape: Shape, raw: str, path: str) -> int:
    if not _INT_RE.fullmatch(raw):
        raise _invalid(path, raw, "Expected an integer.")
    number = int(raw)
    low, high = _INT_RANGES[shape.type_name]
    if not low <= number <= high:
        raise _invalid(path, raw, "The number is out of range.")
    _check_range(shape, number, raw, path)
    return number


def _parse_float(shape: Shape, raw: str, path: str) -> float:
    try:
        number = float(raw) if len(raw) <= 64 else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or "_" in raw:
        raise _invalid(path, raw, "Expected a number.")
    _check_range(shape, number, raw, path)
    return number


def _parse_bool(shape: Shape, raw: str, path: str) -> bool:
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise _invalid(path, raw, "Expected true or false.")


def _parse_timestamp(shape: Shape, raw: str, path: str) -> datetime:
    try:
        when = datetime.fromisoformat(raw) if len(raw) <= 64 else None
    except ValueError:
        when = None
    if when is None:
        raise _invalid(path, raw, "Expected an ISO 8601 timestamp.")
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _parse_blob(shape: Shape, raw: str, path: str) -> bytes:
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(path, raw, "Expected base64-encoded data.") from None


_SCALARS: dict[str, Callable[[Shape, str, str], Any]] = {
    "string": lambda shape, raw, path: raw,
    "integer": _parse_int,
    "long": _parse_int,
    "float": _parse_float,
    "double": _parse_float,
    "boolean": _parse_bool,
    "timestamp": _parse_timestamp,
    "blob": _parse_blob,
}


# --------------------------------------------------------------------------- serializing

_Emit = Callable[[Any, list[str]], None]
_Format = Callable[[Any], str]
_EMITTERS: dict[str, _Emit] = {}
# C0 controls other than tab/LF/CR are not allowed in XML 1.0; they are dropped.
_CONTROL_BYTES = bytes(c for c in range(32) if c not in (9, 10, 13))
_BAD_XML_BYTES = re.compile(b"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _wrong(expected: str, value: Any) -> ValueError:
    return ValueError(f"expected {expected}, got {type(value).__name__}")


def _fmt_string(value: Any) -> str:
    if not isinstance(value, str):
        raise _wrong("str", value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fmt_int(value: Any) -> str:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _wrong("int", value)
    return str(value)


def _fmt_float(value: Any) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _wrong("float", value)
    return repr(float(value))


def _fmt_bool(value: Any) -> str:
    if not isinstance(value, bool):
        raise _wrong("bool", value)
    return "true" if value else "false"


def format_timestamp(when: datetime) -> str:
    """ISO 8601 in UTC with milliseconds, as EC2 writes it: 2026-11-25T06:00:00.000Z."""
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return (
        f"{when.year:04d}-{when.month:02d}-{when.day:02d}T{when.hour:02d}:{when.minute:02d}:"
        f"{when.second:02d}.{when.microsecond // 1000:03d}Z"
    )


def _fmt_timestamp(value: Any) -> str:
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, str):  # already formatted by the caller
        return _escape(value)
    raise _wrong("datetime", value)


def _fmt_blob(value: Any) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, bytes | bytearray):
        raise _wrong("bytes", value)
    return base64.b64encode(value).decode("ascii")


_FORMATS: dict[str, _Format] = {
    "string": _fmt_string,
    "integer": _fmt_int,
    "long": _fmt_int,
    "float": _fmt_float,
    "double": _fmt_float,
    "boolean": _fmt_bool,
    "timestamp": _fmt_timestamp,
    "blob": _fmt_blob,
}


def _emitter(shape: Shape) -> _Emit:
    """The (cached) function that writes a structure or list of ``shape`` as XML fragments."""
    found = _EMITTERS.get(shape.name)
    if found is not None:
        return found
    if shape.type_name == "structure":
        return _structure_emitter(shape)
    if shape.type_name == "list":
        return _list_emitter(shape)
    raise ValueError(f"shape {shape.name} of type {shape.type_name} is not supported")


def _parts(shape: Shape) -> tuple[_Format | None, _Emit | None]:
    """(formatter, None) for a scalar shape, (None, emitter) for a container."""
    fmt = _FORMATS.get(shape.type_name)
    return (fmt, None) if fmt is not None else (None, _emitter(shape))


def _structure_emitter(shape: Shape) -> _Emit:
    entries: dict[str, tuple[str, str, _Format | None, _Emit | None]] = {}
    shape_name = shape.name

    def emit(value: Any, out: list[str]) -> None:
        if type(value) is not dict and not isinstance(value, Mapping):
            raise ValueError(f"{shape_name}: expected a mapping, got {type(value).__name__}")
        append = out.append
        for name, item in value.items():
            if item is None:
                continue
            entry = entries.get(name)
            if entry is None:
                raise ValueError(f"{shape_name} has no member {name!r}")
            open_tag, close_tag, fmt, sub = entry
            try:
                if fmt is _fmt_string and type(item) is str:  # the common case, inlined
                    text = item.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                    append(open_tag + text + close_tag)
                elif fmt is not None:
                    append(open_tag + fmt(item) + close_tag)
                else:
                    append(open_tag)
                    sub(item, out)  # type: ignore[misc]
                    append(close_tag)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None

    _EMITTERS[shape_name] = emit  # registered first: shapes may be recursive
    for name, member in shape.members.items():
        tag = member.serialization.get("name", name)
        entries[name] = (f"<{tag}>", f"</{tag}>", *_parts(member))
    return emit


def _list_emitter(shape: Shape) -> _Emit:
    tag = shape.member.serialization.get("name", "item")
    open_tag, close_tag = f"<{tag}>", f"</{tag}>"
    parts: list[tuple[_Format | None, _Emit | None]] = []

    def emit(value: Any, out: list[str]) -> None:
        if isinstance(value, str | bytes | Mapping):
            raise _wrong("a list", value)
        fmt, sub = parts[0]
        append = out.append
        if fmt is not None:
            for item in value:
                append(open_tag + fmt(item) + close_tag)
            return
        for item in value:
            append(open_tag)
            sub(item, out)  # type: ignore[misc]
            append(close_tag)

    _EMITTERS[shape.name] = emit
    parts.append(_parts(shape.member))
    return emit


def _to_xml_bytes(text: str) -> bytes:
    """UTF-8 bytes with the characters XML 1.0 cannot carry dropped (or made safe)."""
    data = text.encode("utf-8", "replace")  # lone surrogates become '?'
    if len(data.translate(None, _CONTROL_BYTES)) != len(data):
        data = _BAD_XML_BYTES.sub(b"", data)
    return data.replace(b"\r", b"&#13;")


def serialize_response(op: OperationModel, result: Mapping[str, Any], request_id: str) -> bytes:
    """The XML body EC2 returns for ``op`` with ``result`` (botocore-style output); an action
    that got here succeeded, so its ``Return`` (where EC2 has one) is true unless the handler
    said otherwise."""
    action = op.name
    out = [
        XML_DECL,
        f'<{action}Response xmlns="{XMLNS}"><requestId>{_escape(request_id)}</requestId>',
    ]
    shape = op.output_shape
    if shape is not None:
        if "Return" in shape.members and result.get("Return") is None:
            result = {**result, "Return": True}
        _emitter(shape)(result, out)
    elif result:
        raise ValueError(f"{action} returns no output, got keys {sorted(result)}")
    else:
        # botocore models these as void, but EC2 answers every one of them with
        # <return>true</return> (RebootInstances, CreateTags, ...), which some clients read
        out.append("<return>true</return>")
    out.append(f"</{action}Response>")
    return _to_xml_bytes("".join(out))


def serialize_error(code: str, message: str, request_id: str) -> bytes:
    """The XML body of an EC2 error response."""
    return _to_xml_bytes(
        f"{XML_DECL}<Response><Errors><Error><Code>{_escape(code)}</Code>"
        f"<Message>{_escape(message)}</Message></Error></Errors>"
        f"<RequestID>{_escape(request_id)}</RequestID></Response>"
    )
