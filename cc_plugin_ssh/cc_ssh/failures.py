"""What went wrong with a host, in words a user can act on.

Every error names the host (and the job, when there is one) and says what to try. Connection problems are
:class:`HostUnavailable`, a :class:`~cc_core.errors.JobTypeError`: the job type treats them as passing (a running
job is not lost, it is checked again once the host answers).
"""

from __future__ import annotations

import socket
from typing import Optional

import paramiko
from paramiko.ssh_exception import NoValidConnectionsError

from cc_core.errors import JobTypeError
from cc_ssh.host_keys import UnknownHostKey, fingerprint
from cc_ssh.settings import ACCEPT_NEW_VARIABLE
from cc_ssh.target import HostTarget

DISK_FULL_TEXT = ("No space left on device", "Disk quota exceeded")


class HostUnavailable(JobTypeError):
    """The host cannot be used right now (unreachable, refused, dropped); trying again later may work."""

    permanent = False
    nothing_sent = False
    """``True`` when no command reached the host (no connection could be made): whatever was asked surely did not
    happen there. ``False`` when the connection dropped while a command ran: it may have run."""


class HostUnreachable(HostUnavailable):
    """No connection could be made (refused, timed out, no route, a pause after such a failure): nothing was
    sent."""

    nothing_sent = True


class HostRefused(HostUnavailable):
    """The host answered but refused us (authentication, host key): trying again will not help by itself."""

    permanent = True
    nothing_sent = True


def with_job(error: JobTypeError, job: Optional[str]) -> JobTypeError:
    """The same error, naming ``job`` too."""
    if job is None or error.job is not None:
        return error
    raw = error.message
    if error.host:
        raw = raw.split(": ", 1)[1] if raw.startswith(f"host '{error.host}': ") else raw
    copy = type(error)(raw, job=job, host=error.host, hint=error.hint)
    return copy


def connect_error(exc: BaseException, target: HostTarget, address: str, user: str) -> HostUnavailable:
    """Turn what paramiko raised while connecting to ``target`` (at ``address``, as ``user``) into an error."""
    host = target.label
    try_it = f"`{target.ssh_command()}` should work without a password prompt"
    if isinstance(exc, UnknownHostKey):
        where = ", ".join(str(p) for p in exc.files[:2]) or "known_hosts"
        return HostRefused(
            f"the host key of {exc.hostname} is not known ({exc.key_type} {exc.fingerprint}; looked in {where})",
            host=host,
            hint=f"check the fingerprint with the host's admin, then accept it once with `{target.ssh_command()}` "
                 f"(ssh records it), or let cc record new host keys: {ACCEPT_NEW_VARIABLE}=1 or the ssh option "
                 "'accept_new_host_keys: true'")
    if isinstance(exc, paramiko.BadHostKeyException):
        return HostRefused(
            f"the host key of {address} has CHANGED (it now offers {exc.key.get_name()} {fingerprint(exc.key)}): "
            "someone may be intercepting the connection, or the host was reinstalled",
            host=host,
            hint=f"if the change is expected, remove the old key with `ssh-keygen -R '{address}'` and connect "
                 "once by hand to record the new one")
    if isinstance(exc, paramiko.AuthenticationException) or (
            isinstance(exc, paramiko.SSHException) and "authentication methods" in str(exc).lower()):
        return HostRefused(
            f"authentication refused for user '{user}' at {address} ({exc})",
            host=host,
            hint=f"check the key cc offers (IdentityFile in {target.config_label}, keys in the agent: `ssh-add -l`) "
                 f"and that its public key is in ~/.ssh/authorized_keys of '{user}' on the host; {try_it}")
    if isinstance(exc, socket.gaierror):
        return HostUnreachable(
            f"host unreachable: cannot resolve the name '{address.split(':')[0]}' ({exc.strerror or exc})",
            host=host,
            hint=f"give the host a 'Host {target.host}' entry with its HostName in {target.config_label}, or fix "
                 "the name")
    if isinstance(exc, NoValidConnectionsError):
        why = "connection refused"
    elif isinstance(exc, (socket.timeout, TimeoutError)):
        why = "timed out"
    elif isinstance(exc, OSError):
        why = exc.strerror or str(exc) or type(exc).__name__
    else:
        why = str(exc) or type(exc).__name__
    return HostUnreachable(
        f"host unreachable: cannot connect to {address} ({why})",
        host=host,
        hint=f"is the host up and its sshd running? Check HostName, Port and ProxyJump in {target.config_label}; "
             f"{try_it}")


def connection_lost(target: HostTarget, what: str, exc: BaseException, sent: bool = True) -> HostUnavailable:
    """The connection dropped while ``what``; ``sent=False`` when it was gone before the command went out."""
    detail = str(exc) or type(exc).__name__
    kind = HostUnavailable if sent else HostUnreachable
    return kind(f"the connection dropped while {what} ({detail})", host=target.label,
                hint="cc reconnects by itself; if this keeps happening, check the network to the host")


def disk_full(target: HostTarget, folder: str, detail: str) -> JobTypeError:
    return JobTypeError(f"remote disk full: no space left in {folder} ({detail.strip()})", host=target.label,
                        hint="free some space on the host, or point the ssh option 'remote_root' at a file system "
                             "with room")


def is_disk_full(text: str) -> bool:
    return any(marker in text for marker in DISK_FULL_TEXT)
