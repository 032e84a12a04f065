"""Where cc keeps its state: ``CC_HOME`` (default ``~/.cc``) holds the store and every run's folders."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from cc_core.plugins.registry import Registry
    from cc_core.store.base import StatusStore


def cc_home() -> Path:
    return Path(os.environ.get("CC_HOME") or "~/.cc").expanduser().resolve()


def runs_dir(home: Optional[Path] = None) -> Path:
    return (home or cc_home()) / "runs"


def open_store(registry: Optional["Registry"] = None, home: Optional[Path] = None) -> "StatusStore":
    """The store named by ``CC_STORE`` (``NAME:LOCATION``, e.g. ``sqlite:/data/cc.db``); by default the SQLite
    file ``$CC_HOME/cc.db``."""
    from cc_core.plugins.registry import get_registry

    registry = registry or get_registry()
    spec = os.environ.get("CC_STORE", "").strip()
    if spec:
        name, _, location = spec.partition(":")
        return registry.stores.get(name).open(location or str((home or cc_home()) / f"cc.{name}"))
    home = home or cc_home()
    home.mkdir(parents=True, exist_ok=True)
    return registry.stores.get("sqlite").open(str(home / "cc.db"))
