"""A job's files: ``inputs:`` copied into the remote job folder before it starts, ``outputs:`` copied back into
the job's local folder once it ended.

An input is a file or folder on the user's machine, relative to the workflow file (globs like ``data/*.csv``
work); it keeps its relative path in the remote job folder (an absolute one lands under its own name). An output
is a path on the host, relative to the job's working folder (the remote job folder unless ``workdir:`` says
otherwise); its last part may be a glob. Outputs land in the job's local folder under the same relative path.
"""

from __future__ import annotations

import fnmatch
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import paramiko

from cc_core.plugins.jobtype import Launch
from cc_core.workflow.model import JobSpec
from cc_core.workflow.staging import has_glob, input_files, output_place
from cc_core.workflow.staging import subfolders as _subfolders
from cc_ssh.transfer import get_path, sftp_path

def upload_plan(launch: Launch, script: Optional[str]) -> list[tuple[Path, str]]:
    """Everything :meth:`submit` copies: the script or notebook, then the inputs."""
    plan: list[tuple[Path, str]] = []
    path = launch.script_path()
    if path is not None and script is not None:
        plan.append((path, script))
    plan.extend(input_files(launch.job, launch.workflow_dir))
    return plan


INLINE_FILE_LIMIT = 64 << 10
INLINE_TOTAL_LIMIT = 512 << 10


@dataclass(frozen=True)
class InlineFile:
    """A small text file written by the command that makes the job folder (no SFTP round trips for it)."""

    name: str          # path in the job folder
    text: str          # ends with a newline
    executable: bool


def split_plan(plan: list[tuple[Path, str]]) -> tuple[list[InlineFile], list[tuple[Path, str]]]:
    """Small text files go inline with the folder's making; folders, binary and big files over SFTP."""
    inline: list[InlineFile] = []
    copied: list[tuple[Path, str]] = []
    total = 0
    for local, remote in plan:
        text = _small_text(local)
        if text is not None and total + len(text) <= INLINE_TOTAL_LIMIT:
            total += len(text)
            inline.append(InlineFile(remote, text, bool(local.stat().st_mode & 0o111)))
        else:
            copied.append((local, remote))
    return inline, copied


def _small_text(path: Path) -> Optional[str]:
    try:
        if not path.is_file() or path.stat().st_size > INLINE_FILE_LIMIT:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data or not data.endswith(b"\n") or b"\r" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def subfolders(plan: list[tuple[Path, str]]) -> list[str]:
    """The folders inside the job folder the plan needs before files are copied into it."""
    return _subfolders(relative for _, relative in plan)


def workdir_of(job: JobSpec, folder: str) -> str:
    """The job's working folder on the host, as SFTP understands it."""
    if not job.workdir:
        return folder
    if job.workdir.startswith("/") or job.workdir.startswith("~"):
        return sftp_path(job.workdir)
    return posixpath.join(folder, job.workdir)


def fetch_outputs(sftp: paramiko.SFTPClient, outputs: list[str], workdir: str, job_dir: Path) -> list[str]:
    """Copy ``outputs`` into ``job_dir``; what went wrong, one phrase per output (``'x' was not made``). Raises
    when the connection itself failed (the copy is then tried again later)."""
    problems: list[str] = []
    for item in outputs:
        try:
            if not _fetch_output(sftp, item, workdir, job_dir):
                problems.append(f"'{item}' was not made")
        except (OSError, paramiko.SSHException, EOFError) as exc:
            transport = sftp.get_channel().get_transport() if sftp.get_channel() is not None else None
            if transport is None or not transport.is_active():
                raise
            problems.append(f"'{item}' could not be copied ({getattr(exc, 'strerror', None) or exc})")
    return problems


def _fetch_output(sftp: paramiko.SFTPClient, item: str, workdir: str, job_dir: Path) -> bool:
    absolute = item.startswith("/") or item.startswith("~")
    remote = item if item.startswith("/") else (sftp_path(item) if absolute else posixpath.join(workdir, item))
    relative = output_place(item)
    pattern = posixpath.basename(remote)
    if not has_glob(pattern):
        return get_path(sftp, remote, job_dir / relative)
    parent = posixpath.dirname(remote) or "."
    try:
        names = sorted(n for n in sftp.listdir(parent) if fnmatch.fnmatchcase(n, pattern))
    except FileNotFoundError:
        return False
    for name in names:
        get_path(sftp, posixpath.join(parent, name), job_dir / posixpath.dirname(relative) / name)
    return bool(names)
