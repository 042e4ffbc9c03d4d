"""Describe-call filters (EC2 semantics: OR within a filter's values, AND across filters,
`*` and `?` wildcards) and stable MaxResults/NextToken paging."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, TypeVar

from overcast.errors import InvalidParameter

T = TypeVar("T")
ItemT = TypeVar("ItemT", bound="Tagged[Any]")  # a Tagged row or a view built on one
Extractor = Callable[[Any], Iterable[str] | str | None]


@dataclass(frozen=True)
class Filter:
    name: str
    values: tuple[str, ...]


@dataclass
class Tagged(Generic[T]):
    """A resource with its tags, as the describe calls hand it to the faces."""

    item: T
    tags: dict[str, str]


@lru_cache(maxsize=4096)
def _pattern(value: str) -> re.Pattern[str]:
    parts = []
    for char in value:
        parts.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


def _as_list(found: Iterable[str] | str | None) -> list[str]:
    if found is None:
        return []
    if isinstance(found, str):
        return [found]
    return [str(v) for v in found]


def _tag_values(filter_name: str, tags: dict[str, str]) -> list[str]:
    if filter_name.startswith("tag:"):
        key = filter_name[4:]
        return [tags[key]] if key in tags else []
    if filter_name == "tag-key":
        return list(tags)
    return list(tags.values())  # tag-value


def check_filters(filters: Sequence[Filter], known: dict[str, Extractor]) -> None:
    for flt in filters:
        name = flt.name
        if not (name in known or name.startswith("tag:") or name in ("tag-key", "tag-value")):
            raise InvalidParameter("InvalidParameterValue", f"The filter '{name}' is invalid")


def matches(tagged: Tagged[Any], filters: Sequence[Filter], known: dict[str, Extractor]) -> bool:
    for flt in filters:
        name = flt.name
        if name.startswith("tag:") or name in ("tag-key", "tag-value"):
            found = _tag_values(name, tagged.tags)
        else:
            found = _as_list(known[name](tagged))
        if not any(_pattern(v).match(f) for v in flt.values for f in found):
            return False
    return True


def apply(items: Iterable[ItemT], filters: Sequence[Filter],
          known: dict[str, Extractor]) -> list[ItemT]:
    check_filters(filters, known)
    return [t for t in items if matches(t, filters, known)]


def parse_filters(raw: Sequence[dict[str, Any]] | None) -> list[Filter]:
    result = []
    for entry in raw or []:
        name = entry.get("Name")
        if not name:
            raise InvalidParameter("InvalidParameterValue", "A filter must have a Name.")
        result.append(Filter(name, tuple(entry.get("Values") or ())))
    return result


# paging -------------------------------------------------------------------------------------

def encode_token(last_key: str) -> str:
    return base64.urlsafe_b64encode(b"v1:" + last_key.encode()).decode()


def decode_token(token: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token.encode())
    except (binascii.Error, ValueError):
        raw = b""
    if not raw.startswith(b"v1:"):
        raise InvalidParameter("InvalidPaginationToken",
                               f"The pagination token '{token[:64]}' is invalid.")
    return raw[3:].decode(errors="replace")


def check_max_results(max_results: int | None, low: int = 5, high: int = 1000) -> None:
    if max_results is not None and not low <= max_results <= high:
        raise InvalidParameter(
            "InvalidParameterValue",
            f"Value ( {max_results} ) for parameter maxResults is invalid. "
            f"Expecting a value between {low} and {high}.")


def page(items: list[ItemT], key: Callable[[ItemT], str], max_results: int | None,
         next_token: str | None) -> tuple[list[ItemT], str | None]:
    """Sort by a stable key and cut one page; the token names the last key handed out, so
    items created or deleted between calls never shift the pages."""
    ordered = sorted(items, key=key)
    if next_token:
        after = decode_token(next_token)
        ordered = [t for t in ordered if key(t) > after]
    if max_results is None or len(ordered) <= max_results:
        return ordered, None
    chunk = ordered[:max_results]
    return chunk, encode_token(key(chunk[-1]))
