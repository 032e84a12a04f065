"""Starting a job's process from the supervisor: ``posix_spawn`` in a session of its own.

``subprocess.Popen(start_new_session=True)`` cannot use ``vfork`` on Python < 3.12: it forks the whole process and
waits for the child to reach ``exec``, several milliseconds on a busy machine. ``posix_spawn`` (with
``POSIX_SPAWN_SETSID``) starts the program in a fraction of one. It has no working-directory action before
Python 3.13, so the caller changes its own directory first: only the single-threaded supervisor may do that, and it
uses absolute paths only.
"""

from __future__ import annotations

import errno
import os
import signal
from typing import Mapping, Sequence

USABLE = hasattr(os, "posix_spawn") and hasattr(os, "POSIX_SPAWN_DUP2")
_DEFAULT_SIGNALS = tuple(s for s in (getattr(signal, "SIGPIPE", None), getattr(signal, "SIGXFSZ", None),
                                     getattr(signal, "SIGINT", None), getattr(signal, "SIGHUP", None)) if s)


_FOUND: dict[tuple[str, str, str], str] = {}   # (program, PATH, the folder when PATH is relative) -> path


def program_path(program: str, env: Mapping[str, str], cwd: str) -> str:
    """Where ``program`` is: itself when it names a path (relative to ``cwd``), else the first executable file of
    that name on the job's ``PATH``, as ``execvpe`` looks. Raises ``FileNotFoundError`` when there is none.

    A program found before is looked for again only when it is no longer there (one check instead of one per
    folder of ``PATH``)."""
    if "/" in program:
        return os.path.join(cwd, program)
    path = env.get("PATH", "")
    # the job's folder matters only when PATH names a folder relative to it
    key = (program, path, "" if all(os.path.isabs(folder) for folder in path.split(os.pathsep)) else cwd)
    known = _FOUND.get(key)
    if known is not None and os.access(known, os.X_OK):
        return known
    for folder in os.get_exec_path(dict(env)):
        candidate = os.path.join(cwd, folder, program)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            if len(_FOUND) > 4096:
                _FOUND.clear()
            _FOUND[key] = candidate
            return candidate
    raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), program)


def spawn(argv: Sequence[str], cwd: str, env: Mapping[str, str], stdin: int, output: int) -> int:
    """Start ``argv`` in ``cwd`` with ``env``, standard input from ``stdin`` and output (both streams) to
    ``output``, as the leader of a new session; its pid. Changes the caller's working directory to ``cwd``."""
    os.chdir(cwd)   # FileNotFoundError naming cwd when it is missing
    program = program_path(argv[0], env, cwd)
    return os.posix_spawn(program, list(argv), dict(env),
                          file_actions=[(os.POSIX_SPAWN_DUP2, stdin, 0), (os.POSIX_SPAWN_DUP2, output, 1),
                                        (os.POSIX_SPAWN_DUP2, output, 2)],
                          setsid=True, setsigdef=_DEFAULT_SIGNALS)
