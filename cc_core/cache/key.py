"""A job's cache key: a hash of everything that decides what the job makes.

The parts, each a hash of its own (kept in the store, so ``ccw diff`` can say which one changed):

- ``definition``: the job as written — command, script and notebook names, arguments, ``env:``, parameters, job
  type, host, options, declared inputs and outputs (not retries, timeouts, labels or dependencies);
- ``script``: the content of the script or notebook file;
- ``inputs``: the content of every declared input (files, folders, globs), read on this machine;
- ``parents``: the parents' own keys;
- ``setting``: the key string of ``cache: KEY`` (change it to start afresh);
- parts other features register with :func:`register_key_part`: an environment's spec hash
  (``requirements:``, ``conda:``), a function call's code and arguments.

A job with a parent that has no key (its cache is off) has no key either: what the parent makes is not known.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from cc_core.store.base import JobRecord
from cc_core.workflow.model import JobSpec, WorkflowSpec
from cc_core.workflow.staging import input_files

KeyPart = Callable[[JobSpec, Path], Optional[str]]
"""Given a job and its workflow's folder, a string that must be the same for the job's result to be reused (or
``None`` when the part does not apply to the job)."""

_EXTRA_PARTS: dict[str, KeyPart] = {}
_NOT_IN_DEFINITION = {"depends", "retries", "retry_delay", "timeout", "label", "cache"}
_CHUNK = 1 << 20


def register_key_part(name: str, part: KeyPart) -> None:
    """Add a part to every cache key (e.g. ``"environment"``: the hash of a job's environment spec; ``"call"``: a
    function call's code and arguments). Registering a name again replaces it."""
    _EXTRA_PARTS[name] = part


def digest(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def file_digest(path: Path) -> str:
    """The hash of a file's content, or of a folder's files (names and contents), or ``missing``."""
    if path.is_dir():
        entries = []
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                full = Path(root) / name
                entries.append((full.relative_to(path).as_posix(), file_digest(full)))
        return digest(_canonical(entries))
    try:
        sha = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                sha.update(chunk)
        return sha.hexdigest()
    except FileNotFoundError:
        return "missing"


def key_parts(workflow: WorkflowSpec, job: JobSpec, parents: Sequence[JobRecord]) -> Optional[dict[str, str]]:
    """The parts of ``job``'s key, or ``None`` when a parent has no key."""
    parent_keys = {}
    for parent in parents:
        if parent.cache_key is None:
            return None
        parent_keys[parent.name] = parent.cache_key
    directory = workflow.directory
    if job.function and "call" not in _EXTRA_PARTS:
        import cc_core.functions.job  # noqa: F401 - registers the part "call"
    definition = job.model_dump(exclude=_NOT_IN_DEFINITION)
    parts = {"definition": digest(_canonical(definition)), "parents": digest(_canonical(parent_keys))}
    payload = job.script or job.notebook
    if payload:
        path = Path(os.path.expanduser(payload))
        parts["script"] = file_digest(path if path.is_absolute() else directory / path)
    if job.inputs:
        parts["inputs"] = digest(_canonical([(name, file_digest(path)) for path, name in
                                             input_files(job, directory)]))
    setting = workflow.cache_of(job)
    if isinstance(setting, str):
        parts["setting"] = digest(setting)
    for name, part in sorted(_EXTRA_PARTS.items()):
        value = part(job, directory)
        if value is not None:
            parts[name] = digest(value)
    return parts


def cache_key(parts: dict[str, str]) -> str:
    return digest(_canonical(parts))
