"""The database: engine, sessions and migrations."""

from overcast.db.engine import Database, as_utc, utcnow

__all__ = ["Database", "as_utc", "utcnow"]
