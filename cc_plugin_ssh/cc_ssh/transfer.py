"""Copying files and folders to and from a host over the connection's SFTP session."""

from __future__ import annotations

import errno
import posixpath
import shlex
import stat
from pathlib import Path
from typing import Optional, Sequence

import paramiko

from cc_core.errors import JobTypeError
from cc_ssh.connection import HostConnection
from cc_ssh.failures import connection_lost, disk_full, with_job

LOW_SPACE_KB = 256


def sftp_path(path: str) -> str:
    """SFTP does not expand ``~``; its paths start in the login folder, so ``~/x`` is ``x``."""
    if path == "~":
        return "."
    if path.startswith("~/"):
        return path[2:] or "."
    return path


def shell_path(path: str) -> str:
    """``path`` quoted for ``sh``, with a leading ``~/`` left for the remote shell to expand."""
    if path == "~":
        return '"$HOME"'
    if path.startswith("~/"):
        return '"$HOME"/' + shlex.quote(path[2:]) if path[2:] else '"$HOME"'
    return shlex.quote(path)


def put_path(sftp: paramiko.SFTPClient, local: Path, remote: str) -> None:
    """Copy a file or a whole folder to ``remote`` (whose parent folder exists)."""
    if local.is_dir():
        try:
            sftp.mkdir(remote)
        except OSError:
            if not _is_dir(sftp, remote):
                raise
        for child in sorted(local.iterdir()):
            put_path(sftp, child, posixpath.join(remote, child.name))
        return
    sftp.put(str(local), remote, confirm=True)
    mode = local.stat().st_mode & 0o777
    if mode & 0o111:
        sftp.chmod(remote, mode)


def get_path(sftp: paramiko.SFTPClient, remote: str, local: Path) -> bool:
    """Copy a remote file or folder to ``local``; ``False`` when ``remote`` does not exist."""
    try:
        attributes = sftp.stat(remote)
    except FileNotFoundError:
        return False
    except OSError as exc:
        if getattr(exc, "errno", None) == errno.ENOENT:
            return False
        raise
    if stat.S_ISDIR(attributes.st_mode or 0):
        local.mkdir(parents=True, exist_ok=True)
        for entry in sftp.listdir_attr(remote):
            get_path(sftp, posixpath.join(remote, entry.filename), local / entry.filename)
        return True
    local.parent.mkdir(parents=True, exist_ok=True)
    sftp.get(remote, str(local))
    return True


def _is_dir(sftp: paramiko.SFTPClient, remote: str) -> bool:
    try:
        return stat.S_ISDIR(sftp.stat(remote).st_mode or 0)
    except OSError:
        return False


def upload(connection: HostConnection, pairs: Sequence[tuple[Path, str]], *, folder: str,
           job: Optional[str] = None) -> None:
    """Copy each ``(local, remote)`` pair to the host. A failed write is checked against the free space in
    ``folder``, so a full disk is reported as such."""
    try:
        with connection.sftp() as sftp:
            for local, remote in pairs:
                try:
                    put_path(sftp, local, sftp_path(remote))
                except (paramiko.SSHException, EOFError) as exc:
                    connection.drop()
                    raise with_job(connection_lost(connection.target, f"copying {local.name} to the host", exc),
                                   job) from None
                except OSError as exc:
                    raise _write_failure(connection, folder, remote, exc, job) from None
    except JobTypeError as exc:
        raise with_job(exc, job) from None


def _write_failure(connection: HostConnection, folder: str, remote: str, exc: OSError,
                   job: Optional[str]) -> JobTypeError:
    free = free_kilobytes(connection, folder)
    if free is not None and free < LOW_SPACE_KB:
        return with_job(disk_full(connection.target, folder, f"{free} KB free"), job)
    detail = exc.strerror or str(exc) or type(exc).__name__
    return JobTypeError(f"cannot write {remote} on the host ({detail})", job=job, host=connection.target.label,
                        hint="check that the folder is writable by the ssh user, or set the ssh option "
                             "'remote_root'")


def free_kilobytes(connection: HostConnection, folder: str) -> Optional[int]:
    """Free space where ``folder`` is (``df -Pk``), or ``None`` when it cannot be told."""
    try:
        result = connection.exec(f"df -Pk {shell_path(folder)} | awk 'NR==2 {{print $4}}'", timeout=15,
                                 what="checking free disk space")
        return int(result.stdout.decode().strip().splitlines()[-1])
    except (JobTypeError, ValueError, IndexError):
        return None
