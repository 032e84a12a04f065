"""The Windows implementation's logic (cc_local.process_ops.windows) against recording stand-ins: for its layer of
Job Object calls, and for the kernel32/ntdll functions under that layer. The processes are real (Linux ones: pids and creation times come from psutil, as on Windows);
what the stand-in cannot show is Windows itself: that a Job Object really holds every descendant, outlives the
console, and that the ctypes declarations match kernel32 (docs/platforms.md)."""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
from typing import Iterator, Optional

import pytest

from cc_local.process_ops import for_platform
from cc_local.process_ops.windows import (CREATE_NEW_PROCESS_GROUP, CREATE_NO_WINDOW, CREATE_SUSPENDED,
                                          JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, JOB_OBJECT_TERMINATE,
                                          JobObjectExtendedLimitInformation, Kernel32Jobs, WindowsOps,
                                          _extended_limit_information, job_name)


class RecordingJobs:
    """Records every call; ``terminate`` ends the processes assigned to the job, as Windows would."""

    def __init__(self, fail_assign: bool = False) -> None:
        self.calls: list[tuple[object, ...]] = []
        self.jobs: dict[int, tuple[str, list["subprocess.Popen[bytes]"]]] = {}
        self.fail_assign = fail_assign

    def create_job(self, name: str, kill_on_close: bool) -> int:
        self.calls.append(("create", name, kill_on_close))
        handle = 100 + len(self.jobs)
        self.jobs[handle] = (name, [])
        return handle

    def open_job(self, name: str) -> Optional[int]:
        self.calls.append(("open", name))
        return next((h for h, (n, members) in self.jobs.items() if n == name and members), None)

    def assign(self, job: int, process: "subprocess.Popen[bytes]") -> None:
        self.calls.append(("assign", job, process.pid))
        if self.fail_assign:
            raise OSError(5, "AssignProcessToJobObject failed: Access is denied.")
        self.jobs[job][1].append(process)

    def resume(self, process: "subprocess.Popen[bytes]") -> None:
        self.calls.append(("resume", process.pid))

    def terminate(self, job: int, code: int) -> None:
        self.calls.append(("terminate", job, code))
        for process in self.jobs[job][1]:
            process.kill()
            process.wait()
        self.jobs[job][1].clear()

    def close(self, handle: int) -> None:
        self.calls.append(("close", handle))


@pytest.fixture
def sleeper() -> Iterator["subprocess.Popen[bytes]"]:
    process = subprocess.Popen(["sleep", "600"])
    yield process
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait()


def test_windows_is_chosen_for_win32_and_imports_here() -> None:
    ops = for_platform("win32")
    assert isinstance(ops, WindowsOps) and ops.kills_at_once and not ops.supervised


def test_a_job_starts_suspended_without_a_console_of_its_own() -> None:
    flags = WindowsOps(RecordingJobs()).spawn_options()["creationflags"]
    assert flags & CREATE_SUSPENDED and flags & CREATE_NO_WINDOW and flags & CREATE_NEW_PROCESS_GROUP


def test_job_object_made_process_assigned_then_resumed(sleeper: "subprocess.Popen[bytes]") -> None:
    jobs = RecordingJobs()
    WindowsOps(jobs).adopt(sleeper, "abc")
    # kill-on-close off: the job outlives the runner and the console it was started from
    assert jobs.calls == [("create", "cc-job-abc", False), ("assign", 100, sleeper.pid), ("resume", sleeper.pid)]


def test_a_process_that_cannot_join_its_job_is_ended_not_left_running(sleeper: "subprocess.Popen[bytes]") -> None:
    jobs = RecordingJobs(fail_assign=True)
    with pytest.raises(OSError, match="AssignProcessToJobObject"):
        WindowsOps(jobs).adopt(sleeper, "abc")
    assert sleeper.poll() is not None
    assert ("resume", sleeper.pid) not in jobs.calls and ("close", 100) in jobs.calls


def test_kill_terminates_the_job_object_and_never_runs_taskkill(sleeper: "subprocess.Popen[bytes]") -> None:
    jobs, taskkills = RecordingJobs(), []
    ops = WindowsOps(jobs, taskkill=taskkills.append)
    ops.adopt(sleeper, "abc")
    start = ops.start_time(sleeper.pid)
    assert ops.kill_job(sleeper.pid, start, "abc", signal.SIGTERM)
    assert ("terminate", 100, 1) in jobs.calls and sleeper.poll() is not None
    ops.kill_job_later(sleeper.pid, start, "abc", 0.0)   # nothing: the job ended at once
    assert not ops.kill_job(sleeper.pid, start, "abc", signal.SIGTERM)
    assert taskkills == []


def test_a_later_runner_finds_the_job_object_by_name(sleeper: "subprocess.Popen[bytes]") -> None:
    jobs = RecordingJobs()
    WindowsOps(jobs).adopt(sleeper, "abc")
    later = WindowsOps(jobs, taskkill=lambda pid: pytest.fail("taskkill"))
    assert later.kill_job(sleeper.pid, later.start_time(sleeper.pid), "abc", signal.SIGTERM)
    assert jobs.calls[-3:] == [("open", job_name("abc")), ("terminate", 100, 1), ("close", 100)]
    assert sleeper.poll() is not None


def test_without_a_job_object_taskkill_only_for_the_same_process_and_only_once(
        sleeper: "subprocess.Popen[bytes]") -> None:
    taskkills: list[int] = []
    ops = WindowsOps(RecordingJobs(), taskkill=taskkills.append)
    # the pid is someone else's by now (another creation time): nothing is run
    assert not ops.kill_job(sleeper.pid, "1.000000", None, signal.SIGTERM)
    assert not ops.kill_job(sleeper.pid, None, None, signal.SIGTERM)
    assert taskkills == []
    start = ops.start_time(sleeper.pid)
    assert ops.kill_job(sleeper.pid, start, None, signal.SIGTERM)
    assert not ops.kill_job(sleeper.pid, start, None, signal.SIGTERM)
    ops.kill_job_later(sleeper.pid, start, None, 0.0)
    assert taskkills == [sleeper.pid]


def test_a_reused_pid_is_not_alive(sleeper: "subprocess.Popen[bytes]") -> None:
    ops = WindowsOps(RecordingJobs())
    assert ops.is_alive(sleeper.pid, ops.start_time(sleeper.pid))
    assert not ops.is_alive(sleeper.pid, "1.000000")


@pytest.mark.skipif(ctypes.sizeof(ctypes.c_void_p) != 8, reason="the 64-bit layout")
def test_extended_limit_information_has_the_64_bit_layout() -> None:
    """JOBOBJECT_EXTENDED_LIMIT_INFORMATION is 144 bytes on 64-bit Windows, LimitFlags at offset 16."""
    info = _extended_limit_information()
    assert ctypes.sizeof(info) == 144
    assert type(info).BasicLimitInformation.offset == 0
    assert type(info.BasicLimitInformation).LimitFlags.offset == 16


def test_the_local_plugin_imports_without_unix_only_names() -> None:
    """As on Windows: no ``fcntl``, no process groups or sessions, no pidfd/epoll, no SIGKILL."""
    program = "\n".join([
        "import os, select, signal, sys",
        "sys.modules['fcntl'] = None",
        "for name in ('killpg', 'getpgid', 'getsid', 'setsid', 'pidfd_open', 'fork', 'getuid'):",
        "    if hasattr(os, name): delattr(os, name)",
        "for name in ('epoll', 'poll'):",
        "    if hasattr(select, name): delattr(select, name)",
        "del signal.SIGKILL",
        "import cc_local.plugin, cc_local.jobtype",
        "from cc_local.process_ops import for_platform",
        "ops = for_platform('win32')",
        "print(type(ops).__name__, ops.spawn_options()['creationflags'])",
    ])
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["WindowsOps", str(CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW | CREATE_SUSPENDED)]


class RecordingFunction:
    """A kernel32/ntdll function: records its calls, returns what it is told; takes restype/argtypes like ctypes'."""

    def __init__(self, name: str, calls: list[tuple[object, ...]], result: int = 1) -> None:
        self.name, self.calls, self.result = name, calls, result
        self.argtypes: object = None
        self.restype: object = None

    def __call__(self, *args: object) -> int:
        self.calls.append((self.name, *args))
        return self.result


class RecordingDLL:
    def __init__(self, results: dict[str, int]) -> None:
        self.calls: list[tuple[object, ...]] = []
        self.results = results

    def __getattr__(self, name: str) -> RecordingFunction:
        function = RecordingFunction(name, self.calls, self.results.get(name, 1))
        setattr(self, name, function)
        return function


class Handle:
    def __init__(self, handle: int) -> None:
        self._handle = handle
        self.pid = handle


def kernel32_layer(**results: int) -> tuple[Kernel32Jobs, RecordingDLL, RecordingDLL]:
    kernel32, ntdll = RecordingDLL({"CreateJobObjectW": 42, "OpenJobObjectW": 43, **results}), RecordingDLL({})
    return Kernel32Jobs(kernel32, ntdll, last_error=lambda: 5), kernel32, ntdll


@pytest.mark.parametrize("kill_on_close, flags", [(False, 0), (True, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE)])
def test_the_ctypes_layer_creates_a_named_job_with_its_limits(kill_on_close: bool, flags: int) -> None:
    jobs, kernel32, _ = kernel32_layer()
    assert jobs.create_job("cc-job-abc", kill_on_close) == 42
    assert kernel32.calls[0] == ("CreateJobObjectW", None, "cc-job-abc")
    name, handle, kind, info, size = kernel32.calls[1]
    assert (name, handle, kind, size) == ("SetInformationJobObject", 42, JobObjectExtendedLimitInformation, 144)
    assert info._obj.BasicLimitInformation.LimitFlags == flags
    assert kernel32.CreateJobObjectW.argtypes is not None and kernel32.TerminateJobObject.argtypes is not None


def test_the_ctypes_layer_assigns_resumes_terminates_and_opens_by_name() -> None:
    jobs, kernel32, ntdll = kernel32_layer()
    process = Handle(77)
    jobs.assign(42, process)  # type: ignore[arg-type]
    jobs.resume(process)  # type: ignore[arg-type]
    jobs.terminate(42, 1)
    assert jobs.open_job("cc-job-abc") == 43
    jobs.close(43)
    assert kernel32.calls == [("AssignProcessToJobObject", 42, 77), ("TerminateJobObject", 42, 1),
                              ("OpenJobObjectW", JOB_OBJECT_TERMINATE, False, "cc-job-abc"), ("CloseHandle", 43)]
    assert ntdll.calls == [("NtResumeProcess", 77)]


def test_the_ctypes_layer_turns_failures_into_errors_naming_the_call() -> None:
    jobs, _, _ = kernel32_layer(CreateJobObjectW=0, AssignProcessToJobObject=0, TerminateJobObject=0,
                                OpenJobObjectW=0)
    for call in (lambda: jobs.create_job("x", False), lambda: jobs.assign(1, Handle(2)),  # type: ignore[arg-type]
                 lambda: jobs.terminate(1, 1)):
        with pytest.raises(OSError) as failure:
            call()
        assert failure.value.errno == 5 and "failed" in str(failure.value)
    assert jobs.open_job("gone") is None
