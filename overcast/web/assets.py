"""The dashboard's static files: its own CSS and JS beside htmx, which scripts/fetch-htmx takes
from the npm registry at install time (this version, checked against this digest) into
static/vendor/ (not in git). Pages work without it: forms post and links load whole pages."""

from __future__ import annotations

import hashlib
from pathlib import Path

HTMX_VERSION = "2.0.11"
# the npm tarball's integrity, as `npm view htmx.org@2.0.11 dist.integrity` gives it
HTMX_INTEGRITY = ("sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnI"
                  "MCgELTNt636dtamA==")
STATIC = Path(__file__).resolve().parent / "static"
HTMX_FILE = f"vendor/htmx-{HTMX_VERSION}.min.js"
TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".svg": "image/svg+xml"}


def static_path(name: str) -> Path | None:
    """The file under static/ that `name` names, or None (nothing outside it, no dot files)."""
    if not name or any(part.startswith(".") or not part for part in name.split("/")):
        return None
    path = (STATIC / name).resolve()
    if STATIC not in path.parents or not path.is_file() or path.suffix not in TYPES:
        return None
    return path


def fingerprint(name: str) -> str:
    """A short digest of a static file's content, for cache-busting URLs (?v=...)."""
    path = static_path(name)
    if path is None:
        return "missing"
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def htmx_present() -> bool:
    return static_path(HTMX_FILE) is not None
