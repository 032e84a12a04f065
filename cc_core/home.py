"""Where cc keeps its state: ``CC_HOME`` (default ``~/.cc``) holds the store and every run's folders."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from cc_core.plugins.registry import Registry
    from cc_core.store.base import StatusStore


def cc_home() -> Path:
    """``CC_HOME`` (default ``~/.cc``), resolved. Raises :class:`CCError` when it is a file or lies under one."""
    home = Path(os.environ.get("CC_HOME") or "~/.cc").expanduser().resolve()
    if not home.is_dir():
        _check_home(home)
    return home


def _check_home(home: Path) -> None:
    from cc_core.errors import CCError

    where = "CC_HOME" if os.environ.get("CC_HOME") else "cc's folder"
    for folder in (home, *home.parents):
        if folder.exists():
            if not folder.is_dir():
                what = "is a file" if folder == home else f"lies under {folder}, which is a file"
                raise CCError(f"{where} {home} {what}, not a folder",
                              hint="set CC_HOME to a folder (it is made when missing)")
            return


def make_home(home: Path) -> None:
    from cc_core.errors import CCError

    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CCError(f"cannot make cc's folder {home}: {exc.strerror}",
                      hint="set CC_HOME to a folder you may write") from None


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
    make_home(home)
    return registry.stores.get("sqlite").open(str(home / "cc.db"))


def home_id(home: Optional[Path] = None) -> str:
    """A random id of this CC_HOME, made on first use and kept in ``$CC_HOME/id``: names cc gives things outside
    (SLURM job names) carry it, so two CC_HOMEs whose run ids are the same never take each other's jobs."""
    home = home or cc_home()
    path = home / "id"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    import secrets

    home.mkdir(parents=True, exist_ok=True)
    draft = home / f".id.{os.getpid()}.{secrets.token_hex(4)}"
    draft.write_text(secrets.token_hex(8) + "\n", encoding="utf-8")
    try:
        os.link(draft, path)   # atomic, and only if no other process made it first
    except FileExistsError:
        pass
    except OSError:            # a file system without hard links: the first to rename wins, near enough
        if not path.exists():
            os.replace(draft, path)
    finally:
        draft.unlink(missing_ok=True)
    return path.read_text(encoding="utf-8").strip()
