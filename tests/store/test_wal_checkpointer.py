"""SQLite engines: new files get large pages, and WAL checkpoints happen off the commit path."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

from sqlalchemy import Engine, text

from intelgraph.store.engine import SQLITE_PAGE_SIZE, WalCheckpointer, create_store_engine


def sqlite_engine(tmp_path: Path) -> Engine:
    engine = create_store_engine(f"sqlite:///{tmp_path}/store.db")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
    with engine.connect() as conn:  # the empty table is in the database file itself
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").all()
    return engine


def write_notes(engine: Engine, count: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO notes (body) VALUES (:body)"),
            [{"body": f"note {n}"} for n in range(count)],
        )


def rows_in_database_file_alone(tmp_path: Path) -> int:
    """Rows a reader sees in a copy of the database file without its WAL."""
    copy = tmp_path / "copy.db"
    shutil.copyfile(tmp_path / "store.db", copy)
    with sqlite3.connect(copy) as reader:
        return int(reader.execute("SELECT count(*) FROM notes").fetchone()[0])


def wait_for(condition: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.02)
    return False


def test_a_new_sqlite_file_uses_large_pages(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA page_size").scalar() == SQLITE_PAGE_SIZE
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


def test_without_the_checkpointer_a_small_commit_stays_in_the_wal(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)
    try:
        write_notes(engine, 50)
        assert rows_in_database_file_alone(tmp_path) == 0
    finally:
        engine.dispose()


def test_a_commit_wakes_the_checkpointer_which_copies_it_into_the_database_file(
    tmp_path: Path,
) -> None:
    engine = sqlite_engine(tmp_path)
    checkpointer = WalCheckpointer(engine)
    checkpointer.start()
    try:
        before = checkpointer.checkpoints
        write_notes(engine, 50)

        assert checkpointer.commits_seen == 1 and checkpointer.is_running
        assert wait_for(lambda: checkpointer.checkpoints > before)
        assert wait_for(lambda: rows_in_database_file_alone(tmp_path) == 50)
    finally:
        checkpointer.stop()
        engine.dispose()


def test_a_stopped_checkpointer_no_longer_follows_commits(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)
    checkpointer = WalCheckpointer(engine)
    checkpointer.start()
    checkpointer.stop()
    checkpointer.stop()  # twice is harmless
    try:
        done = checkpointer.checkpoints
        write_notes(engine, 10)
        # The commit hook runs in the committing thread, before write_notes returns: had it
        # still been listening, the count would have moved. With no thread left either,
        # nothing can checkpoint later.
        assert checkpointer.commits_seen == 0
        assert not checkpointer.is_running
        assert checkpointer.checkpoints == done
        assert rows_in_database_file_alone(tmp_path) == 0
    finally:
        engine.dispose()


def test_on_postgresql_the_checkpointer_does_nothing(postgres_url: str) -> None:
    engine = create_store_engine(postgres_url)
    checkpointer = WalCheckpointer(engine)
    try:
        assert not checkpointer.is_active
        checkpointer.start()
        checkpointer.stop()
        assert checkpointer.checkpoints == 0
    finally:
        engine.dispose()
