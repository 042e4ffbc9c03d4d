"""The dashboard's small pure parts: the masked CSRF token and the static file look-up."""

from __future__ import annotations

from overcast.web import assets
from overcast.web.session import csrf_for, masked, unmasked


def test_a_masked_csrf_token_differs_each_time_and_unmasks_to_the_token() -> None:
    token = csrf_for("some-session-token")
    first, second = masked(token), masked(token)
    assert first != second and token not in first
    assert unmasked(first) == unmasked(second) == token
    assert unmasked("not hex") == "" and unmasked("") == ""


def test_static_files_stay_inside_the_static_folder() -> None:
    assert assets.static_path("dashboard.css") is not None
    for name in ("../assets.py", "/etc/passwd", "vendor/../../page.py", ".hidden", "",
                 "dashboard.css/", "templates/base.html"):
        assert assets.static_path(name) is None, name
