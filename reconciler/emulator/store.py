"""The emulator's state: resources and their versions, in SQLite (in memory unless given a file).

One store serves all three kinds, because Hume versions prompts, tools and configs the same way.
Bodies are stored as JSON exactly as the server would keep them (defaults already filled in); the
response shapes are built from them by ``views``. Every write is one transaction, so concurrent
requests (threads, or several processes on one file in embedded mode) never see half a write.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.hume import spec

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_on INTEGER NOT NULL,
    latest INTEGER NOT NULL,
    next_version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS resources_by_name ON resources (kind, name);
CREATE INDEX IF NOT EXISTS resources_by_kind ON resources (kind, seq);
CREATE TABLE IF NOT EXISTS versions (
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    modified_on INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (id, version)
);
CREATE TABLE IF NOT EXISTS voices (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS chats (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    chat_group_id TEXT NOT NULL,
    config_id TEXT,
    config_version INTEGER,
    status TEXT NOT NULL,
    start_timestamp INTEGER NOT NULL,
    end_timestamp INTEGER
);
CREATE INDEX IF NOT EXISTS chats_by_start ON chats (start_timestamp, seq);
"""


@dataclass(frozen=True)
class Version:
    """One stored version of a resource; ``body`` is what the server keeps for it."""

    kind: str
    id: str
    name: str
    version: int
    created_on: int
    modified_on: int
    body: dict[str, Any]
    raw: str = field(default="", compare=False, repr=False)
    """The body as stored (JSON text), when read from the database: with the other fields, all
    that a response built from this version depends on (``views.Encoded`` keys on it)."""

    @property
    def row(self) -> tuple[str, str, str, int, int, int, str]:
        """Everything stored for this version, hashable."""
        return (
            self.kind,
            self.id,
            self.name,
            self.version,
            self.created_on,
            self.modified_on,
            self.raw,
        )


@dataclass(frozen=True)
class Page:
    """A slice of a listing, with the total number of pages at that page size."""

    items: list[Version]
    total_pages: int


@dataclass(frozen=True)
class Chat:
    """One chat, as seeded through ``POST /_emulator/chats``; timestamps in seconds."""

    id: str
    chat_group_id: str
    config_id: str | None
    config_version: int | None
    status: str
    start_timestamp: int
    end_timestamp: int | None


class NotFound(Exception):
    """The resource or version does not exist."""


class NameTaken(Exception):
    """Another resource of the kind already has this name."""


def now_ms() -> int:
    """Timestamps are milliseconds, as in Hume's own responses (NOTES.md, "Timestamps")."""
    return time.time_ns() // 1_000_000


_CHAT_COLUMNS = (
    "id, chat_group_id, config_id, config_version, status, start_timestamp, end_timestamp"
)
"""The columns of ``chats`` in the order of ``Chat``'s fields."""

_SELECT = (
    "SELECT r.kind, r.id, r.name, v.version, r.created_on, v.modified_on, v.body "
    "FROM resources r JOIN versions v ON v.id = r.id"
)


class Store:
    """Versioned resources of every kind, with the rules Hume applies to them."""

    def __init__(self, path: str | Path = ":memory:", *, allow_duplicate_names: bool = False):
        self.path = str(path)
        self.allow_duplicate_names = allow_duplicate_names
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=30
        )
        self._db.execute("PRAGMA busy_timeout = 30000")
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode = WAL")
        self._db.executescript(_SCHEMA)
        self._bodies: dict[str, dict[str, Any]] = {}

    _BODIES_KEPT = 50_000

    def _body(self, raw: str) -> dict[str, Any]:
        """A stored body parsed, once per distinct text: every listing reads every body, and
        parsing them was a fifth of serving a page. Shared between reads, so read only."""
        body = self._bodies.get(raw)
        if body is None:
            if len(self._bodies) >= self._BODIES_KEPT:
                self._bodies.clear()
            body = self._bodies[raw] = json.loads(raw)
        return body

    def close(self) -> None:
        """Release the database (the file, if any, keeps the state)."""
        self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; IMMEDIATE so two processes on one file serialise cleanly."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def reset(self) -> None:
        """Forget everything (the control endpoint ``POST /_emulator/reset``)."""
        with self._write() as db:
            db.execute("DELETE FROM versions")
            db.execute("DELETE FROM resources")
            db.execute("DELETE FROM voices")
            db.execute("DELETE FROM chats")

    # Reads

    def _rows(self, sql: str, args: tuple[Any, ...]) -> list[Version]:
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [
            Version(kind, id_, name, version, created, modified, self._body(body), body)
            for kind, id_, name, version, created, modified, body in rows
        ]

    def get(self, kind: str, id_: str, version: int | None = None) -> Version:
        """A version of a resource; ``None`` means its latest."""
        pinned = "v.version = ?" if version is not None else "v.version = r.latest"
        args = (kind, id_, version) if version is not None else (kind, id_)
        rows = self._rows(f"{_SELECT} WHERE r.kind = ? AND r.id = ? AND {pinned}", args)
        if not rows:
            at = f" version {version}" if version is not None else ""
            raise NotFound(f"{spec.singular(kind)} {id_}{at} does not exist")
        return rows[0]

    def list(
        self,
        kind: str,
        *,
        page_number: int,
        page_size: int,
        latest_only: bool,
        name: str | None = None,
        id_: str | None = None,
    ) -> Page:
        """A page of a kind's versions in creation order (one resource's, with ``id_``)."""
        where, args = ["r.kind = ?"], [kind]
        if name is not None:
            where.append("r.name = ?")
            args.append(name)
        if id_ is not None:
            where.append("r.id = ?")
            args.append(id_)
        if latest_only:
            # One version per resource: count resources alone, and walk them in index order.
            counted = f"SELECT count(*) FROM resources r WHERE {' AND '.join(where)}"
            where.append("v.version = r.latest")
            order = "r.seq"
        else:
            counted = "SELECT count(*) FROM resources r JOIN versions v ON v.id = r.id WHERE "
            counted += " AND ".join(where)
            order = "r.seq, v.version"
        with self._lock:
            (count,) = self._db.execute(counted, args).fetchone()
        items = self._rows(
            f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ? OFFSET ?",
            (*args, page_size, page_number * page_size),
        )
        return Page(items, math.ceil(count / page_size))

    def get_many(self, refs: set[tuple[str, int | None]]) -> dict[tuple[str, int | None], Version]:
        """Many ``(id, version)`` references at once (``None``: latest), in one query.

        A page of configs embeds a prompt and tools each; one query per reference made config
        pages the emulator's slowest response. The query looks the ids up by index and keeps
        their latest and the pinned version numbers (a superset, narrowed here): matching
        ``(id, version)`` pairs as row values made SQLite scan every version.
        """
        if not refs:
            return {}
        ids = sorted({id_ for id_, _ in refs})
        numbers = sorted({number for _, number in refs if number is not None})
        where = f"r.id IN ({', '.join('?' for _ in ids)}) AND (v.version = r.latest"
        where += f" OR v.version IN ({', '.join('?' for _ in numbers)}))" if numbers else ")"
        latest_of = f"{_SELECT.replace(' FROM ', ', r.latest FROM ', 1)} WHERE {where}"
        with self._lock:
            rows = self._db.execute(latest_of, (*ids, *numbers)).fetchall()
        found: dict[tuple[str, int | None], Version] = {}
        for *row, latest in rows:
            id_, version, body = row[1], row[3], row[6]
            keys = [(id_, version), *([(id_, None)] if version == latest else [])]
            if wanted := [key for key in keys if key in refs]:
                found.update(dict.fromkeys(wanted, Version(*row[:6], self._body(body), body)))
        return found

    def exists(self, kind: str, id_: str) -> bool:
        """Whether a resource exists (a cheap check for the 404 of list-versions)."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM resources WHERE kind = ? AND id = ?", (kind, id_)
            ).fetchone()
        return row is not None

    # Writes

    def _check_name_free(self, db: sqlite3.Connection, kind: str, name: str, id_: str) -> None:
        if self.allow_duplicate_names:
            return
        row = db.execute(
            "SELECT id FROM resources WHERE kind = ? AND name = ? AND id != ?", (kind, name, id_)
        ).fetchone()
        if row is not None:
            raise NameTaken(f"a {spec.singular(kind)} named {name!r} already exists (id {row[0]})")

    def create(self, kind: str, name: str, body: dict[str, Any]) -> Version:
        """A new resource at version 0."""
        id_, stamp = str(uuid.uuid4()), now_ms()
        with self._write() as db:
            self._check_name_free(db, kind, name, id_)
            db.execute(
                "INSERT INTO resources (kind, id, name, created_on, latest, next_version) "
                "VALUES (?, ?, ?, ?, 0, 1)",
                (kind, id_, name, stamp),
            )
            db.execute(
                "INSERT INTO versions (id, version, modified_on, body) VALUES (?, 0, ?, ?)",
                (id_, stamp, json.dumps(body)),
            )
        return Version(kind, id_, name, 0, stamp, stamp, body)

    def add_version(self, kind: str, id_: str, body: dict[str, Any]) -> Version:
        """The next version of a resource; numbers are never reused, even after a delete."""
        stamp = now_ms()
        with self._write() as db:
            row = db.execute(
                "SELECT name, created_on, next_version FROM resources WHERE kind = ? AND id = ?",
                (kind, id_),
            ).fetchone()
            if row is None:
                raise NotFound(f"{spec.singular(kind)} {id_} does not exist")
            name, created_on, number = row
            db.execute(
                "UPDATE resources SET latest = ?, next_version = ? WHERE id = ?",
                (number, number + 1, id_),
            )
            db.execute(
                "INSERT INTO versions (id, version, modified_on, body) VALUES (?, ?, ?, ?)",
                (id_, number, stamp, json.dumps(body)),
            )
        return Version(kind, id_, name, number, created_on, stamp, body)

    def rename(self, kind: str, id_: str, name: str) -> None:
        """A new name for every version of a resource."""
        with self._write() as db:
            self._check_name_free(db, kind, name, id_)
            cursor = db.execute(
                "UPDATE resources SET name = ? WHERE kind = ? AND id = ?", (name, kind, id_)
            )
            if cursor.rowcount == 0:
                raise NotFound(f"{spec.singular(kind)} {id_} does not exist")

    def update_description(
        self, kind: str, id_: str, version: int, description: str | None
    ) -> Version:
        """Edit one version's description in place; its ``modified_on`` moves to now."""
        current = self.get(kind, id_, version)
        body = {**current.body, "version_description": description}
        stamp = now_ms()
        with self._write() as db:
            db.execute(
                "UPDATE versions SET body = ?, modified_on = ? WHERE id = ? AND version = ?",
                (json.dumps(body), stamp, id_, version),
            )
        return Version(kind, id_, current.name, version, current.created_on, stamp, body)

    def delete(self, kind: str, id_: str) -> None:
        """Remove a resource and all its versions."""
        with self._write() as db:
            cursor = db.execute("DELETE FROM resources WHERE kind = ? AND id = ?", (kind, id_))
            if cursor.rowcount == 0:
                raise NotFound(f"{spec.singular(kind)} {id_} does not exist")
            db.execute("DELETE FROM versions WHERE id = ?", (id_,))

    def delete_version(self, kind: str, id_: str, version: int) -> None:
        """Remove one version; removing the last one removes the resource."""
        self.get(kind, id_, version)
        with self._write() as db:
            db.execute("DELETE FROM versions WHERE id = ? AND version = ?", (id_, version))
            (latest,) = db.execute(
                "SELECT max(version) FROM versions WHERE id = ?", (id_,)
            ).fetchone()
            if latest is None:
                db.execute("DELETE FROM resources WHERE id = ?", (id_,))
            else:
                db.execute("UPDATE resources SET latest = ? WHERE id = ?", (latest, id_))

    # Custom voices (the TTS API's, which configs name): not versioned

    def voices(self) -> list[tuple[str, str]]:
        """Every custom voice, oldest first, as (id, name)."""
        with self._lock:
            return self._db.execute("SELECT id, name FROM voices ORDER BY seq").fetchall()

    def add_voice(self, name: str) -> tuple[str, str]:
        """A new custom voice; Hume stores its name upper-cased. ``NameTaken`` if it exists."""
        stored = name.upper()
        with self._write() as db:
            if db.execute("SELECT 1 FROM voices WHERE name = ?", (stored,)).fetchone():
                raise NameTaken(f"a voice named {stored!r} already exists")
            voice_id = str(uuid.uuid4())
            db.execute("INSERT INTO voices (id, name) VALUES (?, ?)", (voice_id, stored))
        return voice_id, stored

    def delete_voice(self, name: str) -> None:
        """Delete a custom voice by name (case-insensitive, as stored); ``NotFound`` if none."""
        with self._write() as db:
            cursor = db.execute("DELETE FROM voices WHERE name = ?", (name.upper(),))
        if cursor.rowcount == 0:
            raise NotFound(f"voice {name!r} does not exist")

    # Chats (read-only in the API; seeded by the control endpoint): not versioned

    def add_chat(
        self,
        *,
        config_id: str | None,
        config_version: int | None,
        status: str,
        start_timestamp: int,
        end_timestamp: int | None,
    ) -> Chat:
        """A new chat, in a chat group of its own."""
        chat = Chat(
            str(uuid.uuid4()),
            str(uuid.uuid4()),
            config_id,
            config_version,
            status,
            start_timestamp,
            end_timestamp,
        )
        with self._write() as db:
            db.execute(
                f"INSERT INTO chats ({_CHAT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                dataclasses.astuple(chat),
            )
        return chat

    def chats(
        self,
        *,
        page_number: int,
        page_size: int,
        ascending: bool,
        config_id: str | None = None,
        status: str | None = None,
    ) -> tuple[list[Chat], int]:
        """A page of chats by start time (ties in seeding order), and the number of pages."""
        filters = {"config_id": config_id, "status": status}
        args = [value for value in filters.values() if value is not None]
        where = " AND ".join(f"{key} = ?" for key, value in filters.items() if value is not None)
        where = where or "1"
        direction = "ASC" if ascending else "DESC"
        with self._lock:
            counted = self._db.execute(f"SELECT count(*) FROM chats WHERE {where}", args)
            (count,) = counted.fetchone()
            rows = self._db.execute(
                f"SELECT {_CHAT_COLUMNS} FROM chats WHERE {where} "
                f"ORDER BY start_timestamp {direction}, seq {direction} LIMIT ? OFFSET ?",
                (*args, page_size, page_number * page_size),
            ).fetchall()
        return [Chat(*row) for row in rows], math.ceil(count / page_size)

    def get_chat(self, id_: str) -> Chat:
        """One chat, or ``NotFound``."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_CHAT_COLUMNS} FROM chats WHERE id = ?", (id_,)
            ).fetchone()
        if row is None:
            raise NotFound(f"chat {id_} does not exist")
        return Chat(*row)
