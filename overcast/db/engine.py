"""Engine and session handling. SQLite runs in WAL mode, every commit fsynced
(synchronous=FULL: a commit survives a power cut), with immediate write transactions and
deferred read-only ones that run beside the writer; any other SQLAlchemy URL (PostgreSQL with
psycopg 3) works as it is."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from overcast.clock import as_utc, utcnow

__all__ = ["Database", "as_utc", "utcnow"]

MIGRATIONS = Path(__file__).parent / "migrations"


def _normalize_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(engine: Engine, read_only: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        # a reader's snapshot starts at its first read; a writer takes the lock at once
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class Database:
    def __init__(self, url: str) -> None:
        self.url = _normalize_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            path = self.url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(self.url, connect_args={"check_same_thread": False})
            _sqlite_pragmas(self.engine)
            reader = create_engine(self.url, connect_args={"check_same_thread": False})
            _sqlite_pragmas(reader, read_only=True)
        else:
            self.engine = reader = create_engine(self.url, pool_size=10, max_overflow=20,
                                                 pool_pre_ping=True)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.reader = reader
        self._read_sessions = sessionmaker(reader, expire_on_commit=False)
        # One writer at a time inside this process keeps SQLite from busy-waiting on itself.
        self._lock = threading.RLock() if self.is_sqlite else None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on an exception."""
        if self._lock is not None:
            self._lock.acquire()
        try:
            with self._sessions() as session, session.begin():
                yield session
        finally:
            if self._lock is not None:
                self._lock.release()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction: one consistent snapshot, no writer lock (SQLite refuses
        any write in it)."""
        with self._read_sessions() as session, session.begin():
            yield session

    def _alembic_config(self):  # noqa: ANN202 - alembic's Config, imported late
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return config

    def schema_state(self) -> str:
        """'current', 'behind' (migrations pending) or 'empty' (never migrated), read without
        writing anything."""
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        with self.reader.connect() as connection:
            have = set(MigrationContext.configure(connection).get_current_heads())
        if not have:
            return "empty"
        newest = set(ScriptDirectory.from_config(self._alembic_config()).get_heads())
        return "current" if have == newest else "behind"

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        from alembic import command

        config = self._alembic_config()
        with self.engine.connect() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")

    def dispose(self) -> None:
        self.engine.dispose()
        self.reader.dispose()
