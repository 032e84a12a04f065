"""The run lock's Windows branch, run here with a stand-in msvcrt (byte-range locks through fcntl.lockf, which
like Windows' locks hold per byte): a second runner gets cc's error naming the holder, never a traceback."""

from __future__ import annotations

import fcntl
import importlib.util
import os
import sys
import types
from pathlib import Path

import pytest

from cc_core.errors import RunLockedError


def _msvcrt_stand_in(offsets: list[int]) -> types.ModuleType:
    module = types.ModuleType("msvcrt")
    module.LK_NBLCK, module.LK_UNLCK = 2, 0  # type: ignore[attr-defined]

    def locking(fd: int, mode: int, nbytes: int) -> None:
        where = os.lseek(fd, 0, os.SEEK_CUR)
        offsets.append(where)
        if mode == module.LK_UNLCK:  # type: ignore[attr-defined]
            fcntl.lockf(fd, fcntl.LOCK_UN, nbytes, where)
        else:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, nbytes, where)

    module.locking = locking  # type: ignore[attr-defined]
    return module


def _windows_run_lock(monkeypatch: pytest.MonkeyPatch, offsets: list[int]) -> types.ModuleType:
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setitem(sys.modules, "msvcrt", _msvcrt_stand_in(offsets))
    path = Path(__file__).resolve().parent.parent / "cc_core" / "running" / "run_lock.py"
    spec = importlib.util.spec_from_file_location("run_lock_on_windows", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_second_runner_on_windows_gets_the_holder_in_a_clear_error(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    offsets: list[int] = []
    run_lock = _windows_run_lock(monkeypatch, offsets)
    first = run_lock.RunLock(tmp_path)
    first.acquire(7)
    # lockf locks belong to the process: a second process stands in for the second runner
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code
        try:
            run_lock.RunLock(tmp_path).acquire(7)
            os._exit(1)
        except RunLockedError as exc:
            os._exit(0 if f"process {os.getppid()} on" in str(exc) else 2)
        except BaseException:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # the lock sits far past the holder's text, which Windows would otherwise refuse to let anyone read
    assert offsets and all(o == run_lock.WINDOWS_LOCK_OFFSET for o in offsets)
    assert "process" in (tmp_path / ".runner.lock").read_text()
    first.release()


def test_holder_text_that_cannot_be_read_is_still_an_error_not_a_traceback() -> None:
    from cc_core.running.run_lock import _holder

    class Locked:
        def seek(self, where: int) -> None:
            pass

        def read(self, size: int) -> str:
            raise PermissionError(13, "The process cannot access the file because another process has locked it")

    assert _holder(Locked()) == "another process"  # type: ignore[arg-type]
