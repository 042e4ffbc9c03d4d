"""`overcast` with SQLite's `synchronous=FULL` (the WAL fsynced at every commit, so a commit
survives a power cut) instead of the `NORMAL` that overcast/db/engine.py sets (a commit
survives a crash of the process, but not of the machine). Used by
`python -m bench.control_plane --synchronous full`.

    python -m bench.overcast_full_sync up --data-dir DIR --listen HOST:PORT
"""

from __future__ import annotations

import sys
from typing import Any

from sqlalchemy import event

from overcast.cli.main import main
from overcast.db import engine

_plain_init = engine.Database.__init__


def _durable_init(self: engine.Database, url: str) -> None:
    _plain_init(self, url)
    if self.is_sqlite:
        @event.listens_for(self.engine, "connect")
        def full_sync(dbapi_connection: Any, _record: Any) -> None:  # after engine.py's own
            dbapi_connection.execute("PRAGMA synchronous=FULL")


engine.Database.__init__ = _durable_init  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(main())
