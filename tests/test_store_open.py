"""Opening the status store: processes that open a new one at the same moment (two ``ccw run`` in a new CC_HOME)
all get it."""

from __future__ import annotations

import threading
from pathlib import Path

from cc_core.errors import StoreError
from cc_core.store.sqlite import SQLiteStore


def test_a_new_store_opened_by_several_at_once_opens_for_all(tmp_path: Path) -> None:
    # SQLite refuses the switch to WAL mode at once ("database is locked") to all but the first; it happened a few
    # times in a hundred such openings, so they are repeated.
    failures: list[str] = []
    for attempt in range(100):
        path = tmp_path / str(attempt) / "cc.db"
        path.parent.mkdir()
        together = threading.Barrier(4)
        stores: list[SQLiteStore] = []

        def open_store() -> None:
            together.wait()
            try:
                stores.append(SQLiteStore(path))
            except StoreError as exc:
                failures.append(str(exc))

        openers = [threading.Thread(target=open_store) for _ in range(4)]
        for opener in openers:
            opener.start()
        for opener in openers:
            opener.join()
        for store in stores:
            assert store.list_runs() == []
            store.close()
    assert failures == []
