"""The OpenStack faces' body parser: any JSON value parses (the handlers judge its shape);
only nesting past the limit is refused."""

from __future__ import annotations

import pytest

from overcast.api.openstack.wsgi import MAX_NESTING, Fault, parse_json


@pytest.mark.parametrize("raw, value", [(b"", None), (b"null", None), (b"5", 5),
                                        (b"1.5", 1.5), (b"true", True), (b'"x"', "x")])
def test_scalar_bodies_parse(raw: bytes, value: object) -> None:
    assert parse_json(raw) == value


def test_nesting_past_the_limit_is_refused() -> None:
    assert parse_json(b"[" * MAX_NESTING + b"]" * MAX_NESTING) is not None
    with pytest.raises(Fault):
        parse_json(b"[" * (MAX_NESTING + 1) + b"]" * (MAX_NESTING + 1))
