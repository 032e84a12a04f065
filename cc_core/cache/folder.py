"""Job folders in and out of the cache: always copies, never links, so nothing a later job does to its copy (an
append, an edit in place) reaches the cache's copy or another run's.

Each copy is made in a hidden folder beside its target and renamed into place when complete, so a folder that
exists is whole — also when two runs copy at the same moment, or a runner dies half-way.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path


def copy_folder(source: Path, target: Path) -> Path:
    """Copy ``source`` (a job folder) to ``target``, which must not exist yet. Returns ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.parent / f".{target.name}.partial-{uuid.uuid4().hex[:8]}"
    try:
        shutil.copytree(source.resolve(), partial, symlinks=True, copy_function=shutil.copy2)
        os.rename(partial, target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return target


def keep(job_dir: Path, cache_dir: Path) -> Path:
    """The cache's own copy of a job folder that just ended done (kept once: a copy made before is whole)."""
    if cache_dir.is_dir():
        return cache_dir
    try:
        return copy_folder(job_dir, cache_dir)
    except OSError:
        if cache_dir.is_dir():   # made meanwhile by another process (a resume of the same run)
            return cache_dir
        raise
