"""``wsl.exe``: finding it, building its command line, running it and reading its failures.

The command line is wsl.exe's own grammar::

    wsl.exe [-d DISTRO] [-u USER] [--cd DIR] -- bash -lc 'SCRIPT'
    wsl.exe [-d DISTRO] -- bash -s            (the script comes on standard input)
    wsl.exe --list --verbose | --list --quiet

After ``--`` wsl.exe hands the *rest of its Windows command line, as it is* to the user's default shell
(``$SHELL -c REST``). Python on Windows builds that command line with :func:`subprocess.list2cmdline` (double
quotes), so what follows ``--`` is read by two parsers, Windows' and the Linux shell's. cc therefore only puts words
there that both read the same (:func:`check_shell_words`): the job's real script lives in a file next to its log,
and longer scripts come on standard input. When ``wsl.exe`` itself fails it exits with -1 (``0xFFFFFFFF``, seen as
255 where exit codes are one byte) and prints its message in UTF-16 on standard output.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence

from cc_core.errors import JobTypeError
from cc_wsl.listing import Distribution, decode_wsl_output, parse_list_quiet, parse_list_verbose

WSL_FAILURE_CODES = frozenset({-1, 255, 0xFFFFFFFF})
INSTALL_HINT = "install WSL (in PowerShell: wsl --install), or set CC_WSL_EXE to the path of wsl.exe"
_SAFE_WORD = re.compile(r"^[A-Za-z0-9_./=:@%+, -]*$")


def find_wsl(configured: Optional[str] = None, env: Optional[Mapping[str, str]] = None,
             which: Callable[[str], Optional[str]] = shutil.which, platform: str = sys.platform) -> str:
    """The ``wsl.exe`` to run: ``configured``, else ``CC_WSL_EXE``, else ``wsl.exe`` or ``wsl`` on PATH.

    On Windows a 32-bit Python does not see ``System32\\wsl.exe`` (Windows shows it SysWOW64 instead), so
    ``%SystemRoot%\\Sysnative\\wsl.exe`` is tried last.
    """
    env = os.environ if env is None else env
    explicit = configured or env.get("CC_WSL_EXE")
    if explicit:
        found = which(explicit)
        if found is None and os.path.isfile(explicit) and os.access(explicit, os.X_OK):
            found = explicit
        if found is None:
            source = "the job type's option 'exe'" if configured else "CC_WSL_EXE"
            raise JobTypeError(f"{source} names '{explicit}', which is not a program that can be run",
                               hint="point it at wsl.exe (usually C:\\Windows\\System32\\wsl.exe)")
        return found
    for name in ("wsl.exe", "wsl"):
        found = which(name)
        if found:
            return found
    if platform == "win32":
        root = env.get("SystemRoot") or env.get("SYSTEMROOT") or "C:\\Windows"
        for folder in ("System32", "Sysnative"):
            candidate = os.path.join(root, folder, "wsl.exe")
            if os.path.isfile(candidate):
                return candidate
    raise JobTypeError("WSL is not installed here: neither wsl.exe nor wsl is on PATH", hint=INSTALL_HINT)


def check_shell_words(words: Sequence[str]) -> None:
    """Refuse words that Windows' command-line quoting and a Linux shell would read differently."""
    for word in words:
        if not _SAFE_WORD.match(word):
            raise ValueError(f"'{word}' would not reach the Linux shell unchanged through wsl.exe --")


def wsl_argv(exe: str, *, distribution: Optional[str] = None, user: Optional[str] = None, cd: Optional[str] = None,
             command: Sequence[str] = (), exec_mode: bool = False) -> list[str]:
    """``exe -d DISTRO -u USER --cd DIR -- COMMAND...`` with each option only when given.

    ``exec_mode`` uses ``-e`` (run ``COMMAND`` directly, no shell) instead of ``--``; after ``--`` the words of
    ``COMMAND`` must pass :func:`check_shell_words`.
    """
    argv = [exe]
    if distribution:
        argv += ["-d", distribution]
    if user:
        argv += ["-u", user]
    if cd:
        argv += ["--cd", cd]
    if command:
        if not exec_mode:
            check_shell_words(command)
        argv += ["-e" if exec_mode else "--", *command]
    return argv


def login_shell(script: str) -> list[str]:
    """``bash -lc SCRIPT``: the job gets the environment of the user's login (profile, PATH)."""
    return ["bash", "-lc", script]


def windows_command_line(argv: Sequence[str]) -> str:
    """The command line as Windows passes it to wsl.exe (what ``ccw show-script`` prints)."""
    return subprocess.list2cmdline(list(argv))


@dataclass(frozen=True)
class WslResult:
    argv: list[str]
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def output(self) -> str:
        """Standard output and error, decoded, without blank lines at the ends."""
        parts = [decode_wsl_output(self.stdout).strip(), decode_wsl_output(self.stderr).strip()]
        return "\n".join(p for p in parts if p)

    @property
    def wsl_failed(self) -> bool:
        """Did wsl.exe itself fail (rather than the Linux command it ran)?"""
        return self.returncode in WSL_FAILURE_CODES and any(mark in self.output for mark in _WSL_MARKS)


_WSL_MARKS = ("Error code: Wsl/", "Wsl/", "wsl.exe --help", "is missing a required parameter",
              "Invalid command line argument", "has no installed distributions", "distribution name has already")


def run_wsl(argv: Sequence[str], *, stdin: Optional[bytes] = None, timeout: float = 60.0) -> WslResult:
    """Run wsl.exe and collect what it printed. Raises :class:`JobTypeError` when it cannot be run or hangs."""
    flags = 0x08000000 if sys.platform == "win32" else 0  # CREATE_NO_WINDOW: no console window flashes up
    try:
        done = subprocess.run(list(argv), input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
                              capture_output=True, timeout=timeout, creationflags=flags)
    except FileNotFoundError:
        raise JobTypeError(f"'{argv[0]}' cannot be found any more", hint=INSTALL_HINT) from None
    except PermissionError:
        raise JobTypeError(f"'{argv[0]}' cannot be run (permission denied)", hint=INSTALL_HINT) from None
    except subprocess.TimeoutExpired:
        raise JobTypeError(f"wsl.exe did not answer within {timeout:g} s",
                           hint="WSL may be starting or stuck; 'wsl --shutdown' in PowerShell restarts it") from None
    return WslResult(list(argv), done.returncode, done.stdout, done.stderr)


def list_distributions(exe: str, timeout: float = 60.0) -> list[Distribution]:
    """The installed distributions, from ``--list --verbose`` (``--list --quiet`` when that fails)."""
    verbose = run_wsl([exe, "--list", "--verbose"], timeout=timeout)
    if verbose.returncode == 0:
        return parse_list_verbose(decode_wsl_output(verbose.stdout))
    if "has no installed distributions" in verbose.output:
        return []
    quiet = run_wsl([exe, "--list", "--quiet"], timeout=timeout)
    if quiet.returncode == 0:
        return parse_list_quiet(decode_wsl_output(quiet.stdout))
    raise JobTypeError(f"'wsl.exe --list' failed (exit code {verbose.returncode}): {verbose.output or 'no output'}",
                       hint="check that WSL works: run 'wsl --status' in PowerShell")


def wsl_error(result: WslResult, *, distribution: Optional[str], user: Optional[str] = None,
              installed: Optional[Callable[[], list[Distribution]]] = None, job: Optional[str] = None,
              doing: str = "run a command") -> JobTypeError:
    """The :class:`JobTypeError` a user should see for a failed wsl.exe call, naming the distribution."""
    text = result.output
    where = f"WSL distribution '{distribution}'" if distribution else "the default WSL distribution"
    if "WSL_E_DISTRO_NOT_FOUND" in text or "no distribution with the supplied name" in text:
        names = _names(installed)
        return JobTypeError(f"the WSL distribution '{distribution}' is not installed (installed: {names})",
                            job=job, hint="set the job's option 'distribution:' to one of those, or install it "
                                          f"(wsl --install -d {distribution})")
    if "has no installed distributions" in text or "WSL_E_DEFAULT_DISTRO_NOT_FOUND" in text:
        return JobTypeError("WSL has no installed distributions", job=job,
                            hint="install one: wsl --install -d Ubuntu")
    if "USER_NOT_FOUND" in text or "User not found" in text:
        return JobTypeError(f"user '{user}' does not exist in {where}", job=job,
                            hint="set 'user:' to a user of that distribution, or leave it out for its default user")
    if result.returncode == 127 and "bash" in text and "not found" in text:
        return JobTypeError(f"bash is not installed in {where}", job=job,
                            hint="cc runs jobs with bash: install it there (e.g. Alpine: apk add bash)")
    detail = text.splitlines()[0] if text else "no output"
    return JobTypeError(f"wsl.exe could not {doing} in {where} (exit code {result.returncode}): {detail}", job=job,
                        hint="check that the distribution starts: wsl -d " + (distribution or "<name>"))


def _names(installed: Optional[Callable[[], list[Distribution]]]) -> str:
    if installed is None:
        return "unknown"
    try:
        names = [d.name for d in installed()]
    except JobTypeError:
        return "unknown"
    return ", ".join(names) or "none"
