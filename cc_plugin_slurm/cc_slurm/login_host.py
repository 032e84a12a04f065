"""Where cc runs SLURM's commands: this machine (cc runs on the login node) or a login host over SSH.

Both are a :class:`LoginHost`: run a shell command, copy a file there, read files there. The job type talks only
to this interface, so submitting, checking, cancelling and reading logs share one code path. The SSH side comes
from the ssh plugin (``cc_ssh.remote``), imported only when a job names a remote host.
"""

from __future__ import annotations

import base64
import os
import shlex
import shutil
import subprocess
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Mapping, Optional, Sequence

from cc_core.errors import JobTypeError
from cc_core.workflow.model import LOCAL_HOSTS, JobSpec
from cc_core.workflow.staging import has_glob, input_files, output_place, subfolders
from cc_slurm.staging import workdir_there

_SYSTEM_PATHS = ("/usr/sbin", "/sbin")


class CommandTimedOut(JobTypeError):
    """A command on the login host did not finish in time: it may have done its work."""

    nothing_sent = False


class CommandNotRun(JobTypeError):
    """A command could not be started at all (fork failed, no shell): it surely did nothing."""

    nothing_sent = True


@dataclass(frozen=True)
class CommandResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def said(self) -> str:
        """What the command said (its error output, else its output), on one line, for messages."""
        text = (self.stderr.strip() or self.stdout.strip()).replace("\n", " | ")
        return text[:600] if text else f"exit code {self.exit_code}"


@dataclass(frozen=True)
class FileRead:
    """Part of a file read from an offset (only whole lines, unless the read hit its size limit)."""

    data: bytes
    offset: int  # where the next read starts


def shell_path(path: str) -> str:
    """``path`` quoted for the shell, with a leading ``~/`` kept as the home folder."""
    if path == "~":
        return '"$HOME"'
    if path.startswith("~/"):
        return '"$HOME"/' + shlex.quote(path[2:])
    return shlex.quote(path)


def export_lines(env: Mapping[str, str]) -> str:
    return "".join(f"export {key}={shlex.quote(value)}; " for key, value in sorted(env.items()))


def whole_lines(data: bytes, offset: int, limit: int) -> FileRead:
    if len(data) >= limit:
        return FileRead(data, offset + len(data))
    end = data.rfind(b"\n")
    if end < 0:
        return FileRead(b"", offset)
    return FileRead(data[: end + 1], offset + end + 1)


class LoginHost(ABC):
    """A machine where ``sbatch`` and friends run."""

    label: str
    is_local: bool

    @abstractmethod
    def run(self, command: str, *, env: Mapping[str, str], timeout: float) -> CommandResult:
        """Run a ``bash`` command line there with ``env`` added; raises :class:`JobTypeError` when it could not
        be run at all (host unreachable, timeout)."""

    @abstractmethod
    def put(self, local: Path, remote: str) -> None:
        """Copy a local file there (the folder exists)."""

    @abstractmethod
    def get(self, remote: str, local: Path) -> None:
        """Copy a file from there to this machine (``FileNotFoundError`` when it is not there)."""

    def stage(self, folder: str, files: Sequence[tuple[Path, str]], job: JobSpec, workflow_dir: Path) -> None:
        """Make ``folder`` there and copy ``files`` (local file, name in the folder) and the job's inputs into it.
        This machine shares its files with the cluster: nothing to copy."""

    def fetch_outputs(self, job: JobSpec, folder: str, job_dir: Path) -> list[str]:
        """Copy the job's ``outputs:`` back into its local folder; the outputs that were not found."""
        return []

    @abstractmethod
    def read_from(self, reads: Sequence[tuple[str, int]], limit: int, ended: bool = False) -> list[FileRead]:
        """Each file from its offset on, in one go (one command for a remote host): whole lines only, unless the
        files are complete (``ended``: the jobs writing them have ended)."""

    @abstractmethod
    def read_small(self, paths: Sequence[str]) -> dict[str, Optional[str]]:
        """The text of small files (``None`` for a missing one), in one go."""

    def close(self) -> None:
        """Let go of connections."""

    def retry_now(self) -> None:
        """The next command tries to reach the host at once, even within a pause after a failed connect."""


class LocalHost(LoginHost):
    """This machine: commands run with ``bash -c``; files are read directly."""

    label = "localhost"
    is_local = True

    def run(self, command: str, *, env: Mapping[str, str], timeout: float) -> CommandResult:
        full = dict(os.environ)
        full.update(env)
        path = full.get("PATH", "").split(os.pathsep)
        full["PATH"] = os.pathsep.join(path + [p for p in _SYSTEM_PATHS if p not in path])
        try:
            done = subprocess.run(["/bin/bash", "-c", command], env=full, capture_output=True, text=True,
                                  encoding="utf-8", errors="replace", timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise CommandTimedOut(f"'{_short(command)}' did not finish within {timeout:g} s",
                               hint="the SLURM controller may be overloaded; raise the slurm option "
                                    "'command_timeout'") from None
        except OSError as exc:
            raise CommandNotRun(f"could not run '{_short(command)}': {exc}") from None
        return CommandResult(done.returncode, done.stdout, done.stderr)

    def put(self, local: Path, remote: str) -> None:
        target = Path(os.path.expanduser(remote))
        if Path(local).resolve() != target.resolve():
            shutil.copy2(local, target)

    def get(self, remote: str, local: Path) -> None:
        self.put(Path(os.path.expanduser(remote)), str(local))

    def read_from(self, reads: Sequence[tuple[str, int]], limit: int, ended: bool = False) -> list[FileRead]:
        out = []
        for path, offset in reads:
            try:
                with open(os.path.expanduser(path), "rb") as handle:
                    handle.seek(offset)
                    data = handle.read(limit)
            except OSError:
                data = b""
            out.append(FileRead(data, offset + len(data)) if ended else whole_lines(data, offset, limit))
        return out

    def read_small(self, paths: Sequence[str]) -> dict[str, Optional[str]]:
        found: dict[str, Optional[str]] = {}
        for path in paths:
            try:
                found[path] = Path(os.path.expanduser(path)).read_text(encoding="utf-8", errors="replace")
            except OSError:
                found[path] = None
        return found


class SSHLoginHost(LoginHost):
    """A login host reached through the ssh plugin's pooled connection."""

    is_local = False

    def __init__(self, host: str, user: Optional[str], options: Mapping[str, Any]) -> None:
        self.host = host
        self.user = user
        self.label = f"{user}@{host}" if user and "@" not in host else host
        self._options = dict(options)
        self._shell: Any = None

    def _remote(self) -> Any:
        if self._shell is None:
            try:
                from cc_ssh import remote
            except ImportError:
                raise JobTypeError("a slurm job on another host needs the ssh plugin, which is not installed",
                                   host=self.label,
                                   hint="pip install cc-plugin-ssh, or run cc on the cluster's login node "
                                        "and leave 'host:' out") from None
            self._shell = remote.shell_for(self.host, user=self.user,
                                           config_path=self._options.get("ssh_config"),
                                           accept_new_host_keys=bool(self._options.get("accept_new_host_keys")))
        return self._shell

    def run(self, command: str, *, env: Mapping[str, str], timeout: float) -> CommandResult:
        line = export_lines(env) + command
        try:
            result = self._remote().run(line, timeout=timeout)
        except JobTypeError:
            raise
        except Exception as exc:  # noqa: BLE001 - any transport failure is the host's, said in cc's words
            raise JobTypeError(f"could not run a command on the login host: {type(exc).__name__}: {exc}",
                               host=self.label, hint="check the host with ssh by hand") from None
        return CommandResult(int(result.exit_code), str(result.stdout or ""), str(result.stderr or ""))

    def put(self, local: Path, remote: str) -> None:
        try:
            self._remote().put(str(local), remote)
        except JobTypeError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise JobTypeError(f"could not copy {local} to {remote}: {type(exc).__name__}: {exc}",
                               host=self.label) from None

    def get(self, remote: str, local: Path) -> None:
        try:
            self._remote().get(remote, str(local))
        except (JobTypeError, FileNotFoundError):
            raise
        except Exception as exc:  # noqa: BLE001
            raise JobTypeError(f"could not copy {remote} back to {local}: {type(exc).__name__}: {exc}",
                               host=self.label) from None

    def stage(self, folder: str, files: Sequence[tuple[Path, str]], job: JobSpec, workflow_dir: Path) -> None:
        plan = [*files, *input_files(job, workflow_dir)]
        folders = [folder, *(f"{folder}/{sub}" for sub in subfolders([name for _, name in plan]))]
        made = self.run("mkdir -p " + " ".join(shell_path(f) for f in folders), env={}, timeout=60)
        if made.exit_code != 0:
            raise JobTypeError(f"could not make the job folder {folder}: {made.said}", job=job.name,
                               host=self.label, hint="set the slurm option 'remote_root' to a writable folder")
        for local, name in plan:
            self.put(local, f"{folder}/{name}")

    def fetch_outputs(self, job: JobSpec, folder: str, job_dir: Path) -> list[str]:
        if not job.outputs:
            return []
        workdir = workdir_there(job, folder)
        # One command says which outputs exist (globs expanded there); then each is copied.
        listing = "; ".join(
            f"for f in {_pattern(item, workdir)}; do [ -e \"$f\" ] && printf '%s\\t%s\\n' {i} \"$f\"; done"
            for i, item in enumerate(job.outputs))
        found = self.run(listing + "; true", env={}, timeout=60)
        matches: dict[int, list[str]] = {}
        for line in found.stdout.splitlines():
            index, _, path = line.partition("\t")
            if index.isdigit() and path:
                matches.setdefault(int(index), []).append(path)
        missing = []
        for i, item in enumerate(job.outputs):
            if i not in matches:
                missing.append(item)
                continue
            place = output_place(item)
            for path in matches[i]:
                target = job_dir / (str(PurePosixPath(place).parent / PurePosixPath(path).name)
                                    if has_glob(item) else place)
                target.parent.mkdir(parents=True, exist_ok=True)
                self.get(path, target)
        return missing

    def read_from(self, reads: Sequence[tuple[str, int]], limit: int, ended: bool = False) -> list[FileRead]:
        if not reads:
            return []
        # One line of base64 per file, so any bytes survive the trip.
        parts = [f"{{ tail -c +{offset + 1} {shell_path(path)} 2>/dev/null | head -c {limit} | base64 -w0; echo; }}"
                 for path, offset in reads]
        result = self.run("; ".join(parts), env={}, timeout=60)
        lines = result.stdout.split("\n")
        out = []
        for index, (_, offset) in enumerate(reads):
            encoded = lines[index].strip() if index < len(lines) else ""
            try:
                data = base64.b64decode(encoded) if encoded else b""
            except ValueError:
                data = b""
            out.append(FileRead(data, offset + len(data)) if ended else whole_lines(data, offset, limit))
        return out

    def read_small(self, paths: Sequence[str]) -> dict[str, Optional[str]]:
        if not paths:
            return {}
        parts = [f"{{ if [ -f {shell_path(p)} ]; then head -c 200 {shell_path(p)} | base64 -w0; else printf '-'; fi; "
                 "echo; }" for p in paths]
        result = self.run("; ".join(parts), env={}, timeout=60)
        lines = result.stdout.split("\n")
        found: dict[str, Optional[str]] = {}
        for index, path in enumerate(paths):
            encoded = lines[index].strip() if index < len(lines) else "-"
            found[path] = None if encoded == "-" else base64.b64decode(encoded).decode(errors="replace")
        return found

    def close(self) -> None:
        self._shell = None

    def retry_now(self) -> None:
        if self._shell is not None:
            self._shell.connection.retry_now()


def login_host(host: Optional[str], user: Optional[str] = None,
               ssh_options: Optional[Mapping[str, Any]] = None) -> LoginHost:
    """The login host a job names: this machine for ``localhost`` (or no host), else one over SSH."""
    if host is None or host in LOCAL_HOSTS:
        return LocalHost()
    return SSHLoginHost(host, user, ssh_options or {})


def _pattern(item: str, workdir: str) -> str:
    """An output as a shell word there: the folder part quoted, a glob in the last part left to expand."""
    path = item if item.startswith(("/", "~")) else f"{workdir}/{item}"
    parent, _, name = path.rpartition("/")
    quoted_name = name if has_glob(name) else shlex.quote(name)
    return f"{shell_path(parent or '/')}/{quoted_name}"


def _short(command: str) -> str:
    line = command.strip().splitlines()[0] if command.strip() else command
    return line if len(line) <= 120 else line[:117] + "..."
