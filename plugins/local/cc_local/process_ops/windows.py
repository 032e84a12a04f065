"""Windows: every job in a Job Object of its own, named after its tag.

The job's main process is created suspended, put in a new Job Object (``cc-job-<tag>``) and only then let run, so
every process it starts is in the job too, whatever consoles or process groups they make; ``TerminateJobObject``
ends them all at once. ``JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`` stays off: the job outlives the runner (and the
console it was started from), as jobs do on Linux and macOS, and a later runner opens it again by its name.

Where no Job Object can be found (a process started by an older cc), ``taskkill /T /F`` ends the tree, once per
process, and only after the pid and the creation time both matched. All calls into ``kernel32``/``ntdll`` go through
:class:`Kernel32Jobs`, so this module imports on any system and its logic is tested with a stand-in for that layer.
"""

from __future__ import annotations

import ctypes
import subprocess
import threading
from typing import Any, Callable, Optional, Protocol

from cc_local.process_ops.macos import PsutilOps

CREATE_SUSPENDED = 0x00000004
CREATE_NEW_PROCESS_GROUP = 0x00000200
CREATE_NO_WINDOW = 0x08000000
JOB_OBJECT_TERMINATE = 0x0008
JOB_OBJECT_ASSIGN_PROCESS = 0x0001
JobObjectExtendedLimitInformation = 9
JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x00002000
KILLED_EXIT_CODE = 1


def job_name(tag: str) -> str:
    return f"cc-job-{tag}"


class JobsLayer(Protocol):
    """The few system calls the Windows implementation makes."""

    def create_job(self, name: str, kill_on_close: bool) -> int: ...
    def open_job(self, name: str) -> Optional[int]: ...
    def assign(self, job: int, process: "subprocess.Popen[bytes]") -> None: ...
    def resume(self, process: "subprocess.Popen[bytes]") -> None: ...
    def terminate(self, job: int, code: int) -> None: ...
    def close(self, handle: int) -> None: ...


class Kernel32Jobs:
    """:class:`JobsLayer` through ctypes. ``kernel32``, ``ntdll`` and ``last_error`` are the system's unless given
    (the tests give recording stand-ins)."""

    def __init__(self, kernel32: Any = None, ntdll: Any = None,
                 last_error: Optional[Callable[[], int]] = None) -> None:
        from ctypes import wintypes

        if kernel32 is None:  # pragma: no cover - Windows
            kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        if ntdll is None:  # pragma: no cover - Windows
            ntdll = ctypes.WinDLL("ntdll")  # type: ignore[attr-defined]
        self.kernel32, self.ntdll = kernel32, ntdll
        self.last_error: Callable[[], int] = last_error or ctypes.get_last_error  # type: ignore[attr-defined]
        self.kernel32.CreateJobObjectW.restype = wintypes.HANDLE
        self.kernel32.CreateJobObjectW.argtypes = [ctypes.c_void_p, wintypes.LPCWSTR]
        self.kernel32.OpenJobObjectW.restype = wintypes.HANDLE
        self.kernel32.OpenJobObjectW.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.LPCWSTR]
        self.kernel32.AssignProcessToJobObject.argtypes = [wintypes.HANDLE, wintypes.HANDLE]
        self.kernel32.TerminateJobObject.argtypes = [wintypes.HANDLE, wintypes.UINT]
        self.kernel32.SetInformationJobObject.argtypes = [wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p,
                                                          wintypes.DWORD]
        self.kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
        self.ntdll.NtResumeProcess.argtypes = [wintypes.HANDLE]

    def _error(self, what: str) -> OSError:
        code = self.last_error()
        explain = getattr(ctypes, "FormatError", lambda c: f"Windows error {c}")
        return OSError(code, f"{what} failed: {explain(code)}")

    def create_job(self, name: str, kill_on_close: bool) -> int:
        handle = self.kernel32.CreateJobObjectW(None, name)
        if not handle:
            raise self._error("CreateJobObjectW")
        info = _extended_limit_information()
        info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE if kill_on_close else 0
        if not self.kernel32.SetInformationJobObject(handle, JobObjectExtendedLimitInformation, ctypes.byref(info),
                                                     ctypes.sizeof(info)):
            raise self._error("SetInformationJobObject")
        return int(handle)

    def open_job(self, name: str) -> Optional[int]:
        handle = self.kernel32.OpenJobObjectW(JOB_OBJECT_TERMINATE, False, name)
        return int(handle) if handle else None

    def assign(self, job: int, process: "subprocess.Popen[bytes]") -> None:
        if not self.kernel32.AssignProcessToJobObject(job, int(process._handle)):  # type: ignore[attr-defined]
            raise self._error("AssignProcessToJobObject")

    def resume(self, process: "subprocess.Popen[bytes]") -> None:
        self.ntdll.NtResumeProcess(int(process._handle))  # type: ignore[attr-defined]

    def terminate(self, job: int, code: int) -> None:
        if not self.kernel32.TerminateJobObject(job, code):
            raise self._error("TerminateJobObject")

    def close(self, handle: int) -> None:
        self.kernel32.CloseHandle(handle)


def _extended_limit_information() -> Any:
    """A zeroed ``JOBOBJECT_EXTENDED_LIMIT_INFORMATION``."""
    class IoCounters(ctypes.Structure):
        _fields_ = [(n, ctypes.c_ulonglong) for n in ("ReadOperationCount", "WriteOperationCount",
                    "OtherOperationCount", "ReadTransferCount", "WriteTransferCount", "OtherTransferCount")]

    class Basic(ctypes.Structure):
        _fields_ = [("PerProcessUserTimeLimit", ctypes.c_longlong), ("PerJobUserTimeLimit", ctypes.c_longlong),
                    ("LimitFlags", ctypes.c_uint32), ("MinimumWorkingSetSize", ctypes.c_size_t),
                    ("MaximumWorkingSetSize", ctypes.c_size_t), ("ActiveProcessLimit", ctypes.c_uint32),
                    ("Affinity", ctypes.c_size_t), ("PriorityClass", ctypes.c_uint32),
                    ("SchedulingClass", ctypes.c_uint32)]

    class Extended(ctypes.Structure):
        _fields_ = [("BasicLimitInformation", Basic), ("IoInfo", IoCounters),
                    ("ProcessMemoryLimit", ctypes.c_size_t), ("JobMemoryLimit", ctypes.c_size_t),
                    ("PeakProcessMemoryUsed", ctypes.c_size_t), ("PeakJobMemoryUsed", ctypes.c_size_t)]

    return Extended()


def _taskkill(pid: int) -> None:  # pragma: no cover - Windows
    subprocess.run(["taskkill", "/T", "/F", "/PID", str(pid)], capture_output=True, check=False,
                   stdin=subprocess.DEVNULL)


class WindowsOps(PsutilOps):
    platform = "win32"
    tracking = "a Job Object per job"
    kills_at_once = True

    def __init__(self, jobs: Optional[JobsLayer] = None, taskkill: Callable[[int], None] = _taskkill,
                 kill_on_close: bool = False) -> None:
        self._jobs = jobs
        self._taskkill = taskkill
        self.kill_on_close = kill_on_close
        self._handles: dict[str, int] = {}           # tag -> Job Object handle, for the jobs this process started
        self._taskkilled: set[tuple[int, str]] = set()
        self._lock = threading.Lock()

    @property
    def jobs(self) -> JobsLayer:
        if self._jobs is None:
            self._jobs = Kernel32Jobs()  # pragma: no cover - Windows
        return self._jobs

    def spawn_options(self) -> dict[str, Any]:
        return {"creationflags": CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW | CREATE_SUSPENDED}

    def adopt(self, process: "subprocess.Popen[bytes]", tag: str) -> None:
        """Put the (suspended) main process in the job's Job Object, then let it run. Should that fail, the process
        is ended rather than left running outside any job."""
        try:
            job = self.jobs.create_job(job_name(tag), self.kill_on_close)
            try:
                self.jobs.assign(job, process)
            except OSError:
                self.jobs.close(job)
                raise
        except OSError:
            process.kill()
            process.wait()
            raise
        with self._lock:
            self._handles[tag] = job
        self.jobs.resume(process)

    def kill_job(self, pid: int, start: Optional[str], tag: Optional[str], sig: int) -> bool:
        """End the job's Job Object (every process in it); without one, ``taskkill /T /F`` on the main process,
        once, and only if it is still the process started at ``start``."""
        if tag is not None:
            with self._lock:
                job = self._handles.pop(tag, None)
            opened = job is None
            if job is None:
                job = self.jobs.open_job(job_name(tag))
            if job is not None:
                try:
                    self.jobs.terminate(job, KILLED_EXIT_CODE)
                    return True
                except OSError:
                    return False
                finally:
                    if opened:
                        self.jobs.close(job)
        if start is None or not self.is_alive(pid, start):
            return False
        with self._lock:
            if (pid, start) in self._taskkilled:
                return False
            self._taskkilled.add((pid, start))
        self._taskkill(pid)
        return True
