"""Range reads of a job's log, only ever inside cc's state directory."""

from __future__ import annotations

import os
from pathlib import Path

from cc_core.errors import CCError
from cc_core.home import cc_home
from cc_core.store.base import JobRecord
from cc_web.models import LogChunkOut

MAX_READ = 1 << 20


class LogOutsideHomeError(CCError):
    """A recorded log path points outside cc's state directory; the service does not read it."""


def read_log(job: JobRecord, offset: int, length: int) -> LogChunkOut:
    """Bytes ``offset`` .. ``offset + length`` of the job's log, cut back to whole UTF-8 characters."""
    length = max(0, min(length, MAX_READ))
    if not job.log_path:
        return LogChunkOut(run_id=job.run_id, job=job.name, offset=offset, next_offset=offset, size=0, text="",
                           final=job.state.is_final)
    path = Path(job.log_path)
    home = cc_home()
    resolved = path.resolve()
    if not resolved.is_relative_to(home):
        raise LogOutsideHomeError(f"the log of job '{job.name}' is recorded at {path}, outside cc's state "
                                  f"directory {home}; the service reads no file there",
                                  hint="read it on the machine itself, or set CC_HOME to a folder holding it")
    try:
        with open(resolved, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            start = min(offset, size)
            handle.seek(start)
            data = handle.read(length)
    except FileNotFoundError:
        return LogChunkOut(run_id=job.run_id, job=job.name, offset=offset, next_offset=offset, size=0, text="",
                           final=job.state.is_final)
    except (IsADirectoryError, PermissionError) as exc:
        raise LogOutsideHomeError(f"the log of job '{job.name}' cannot be read: {exc.strerror}") from None
    data = _whole_characters(data, complete=start + len(data) >= size)
    next_offset = start + len(data)
    return LogChunkOut(run_id=job.run_id, job=job.name, offset=start, next_offset=next_offset, size=size,
                       text=data.decode("utf-8", "replace"), final=job.state.is_final and next_offset >= size)


def _whole_characters(data: bytes, complete: bool) -> bytes:
    """Leave out a UTF-8 character cut at the end (it comes with the next read), unless the file ends there."""
    if complete or not data:
        return data
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return data
        if byte >= 0xC0:  # the lead byte of the last character
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return data if back >= need or back == len(data) else data[:-back]
    return data
