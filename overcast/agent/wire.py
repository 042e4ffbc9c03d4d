"""The agent API's JSON: frozen dataclasses, enums, bytes (base64), tuples and dicts turned
into JSON values and back, guided by the type hints of what is expected. Input that does not
fit raises WireError (the API answers 400)."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import types
import typing
from functools import cache
from typing import Any


class WireError(ValueError):
    pass


def encode(value: Any) -> Any:
    """A JSON-able form of `value`."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, tuple | list | set | frozenset):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def decode(kind: Any, data: Any) -> Any:
    """`data` (from JSON) as a value of type `kind`."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return data
    if origin in (typing.Union, types.UnionType):
        return _union(args, data)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return _dataclass(kind, data)
    if origin is tuple:
        return _tuple(args, data)
    if origin in (list, set):
        return origin(decode(args[0], v) for v in _expect(list, data))
    if origin is dict:
        return {decode(args[0], k): decode(args[1], v) for k, v in _expect(dict, data).items()}
    return _scalar(kind, data)


def _expect(kind: type, data: Any) -> Any:
    if not isinstance(data, kind):
        raise WireError(f"expected {kind.__name__}, got {type(data).__name__}")
    return data


def _union(args: tuple[Any, ...], data: Any) -> Any:
    if data is None and type(None) in args:
        return None
    choices = [a for a in args if a is not type(None)]
    for choice in choices[:-1]:
        try:
            return decode(choice, data)
        except WireError:
            continue
    return decode(choices[-1], data)


def _dataclass(kind: type, data: Any) -> Any:
    hints = _hints(kind)
    given = _expect(dict, data)
    unknown = given.keys() - hints.keys()
    if unknown:
        raise WireError(f"{kind.__name__}: unknown fields {sorted(unknown)}")
    try:
        return kind(**{name: decode(hints[name], v) for name, v in given.items()})
    except TypeError as exc:
        raise WireError(f"{kind.__name__}: {exc}") from None


def _tuple(args: tuple[Any, ...], data: Any) -> tuple[Any, ...]:
    items = _expect(list, data)
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(decode(args[0], v) for v in items)
    if len(items) != len(args):
        raise WireError(f"expected {len(args)} items, got {len(items)}")
    return tuple(decode(a, v) for a, v in zip(args, items, strict=True))


def _scalar(kind: Any, data: Any) -> Any:
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        try:
            return kind(data)
        except ValueError:
            raise WireError(f"{data!r} is not a {kind.__name__}") from None
    if kind is bytes:
        try:
            return base64.b64decode(_expect(str, data), validate=True)
        except binascii.Error:
            raise WireError("bad base64") from None
    if kind is float and isinstance(data, int) and not isinstance(data, bool):
        return float(data)
    if kind in (str, int, float, bool):
        if kind is int and isinstance(data, bool):
            raise WireError("expected int, got bool")
        return _expect(kind, data)
    if kind is type(None) or kind is None:
        if data is not None:
            raise WireError("expected null")
        return None
    raise WireError(f"cannot decode {kind!r}")
