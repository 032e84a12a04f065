"""One SSH connection to one host, shared by every job and check on that host.

The connection opens on first use and is opened again when it dropped. A host that cannot be reached is retried
with a growing pause (0.5 s, 1 s, 2 s, ... up to ``reconnect_backoff_max``); until the pause is over, calls fail
at once with the last error instead of waiting for another timeout. Commands run on channels of the one
transport, so several threads may use the connection at the same time; SFTP transfers take turns.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Optional

import paramiko
from fabric import Connection

from cc_core.errors import JobTypeError
from cc_ssh.failures import HostUnavailable, connect_error, connection_lost
from cc_ssh.host_keys import check_host_keys
from cc_ssh.target import HostTarget, make_connection

log = logging.getLogger(__name__)
FIRST_PAUSE = 0.5
KEEPALIVE = 15


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: bytes
    stderr: bytes


class CommandTimeout(JobTypeError):
    """A remote command did not finish in time (the connection is dropped and opened again)."""


class _Dropped(Exception):
    """The transport died before the command could be sent: safe to send it again."""


class HostConnection:
    """The connection to one host. Get it from :class:`cc_ssh.pool.ConnectionPool`, not directly."""

    def __init__(self, target: HostTarget, *, accept_new_host_keys: bool = False, connect_timeout: float = 10.0,
                 backoff_max: float = 30.0) -> None:
        self.target = target
        self.accept_new_host_keys = accept_new_host_keys
        self.connect_timeout = connect_timeout
        self.backoff_max = backoff_max
        self.connections_opened = 0
        self.commands_run = 0
        self._lock = threading.RLock()
        self._sftp_lock = threading.Lock()
        self._connection: Optional[Connection] = None
        self._sftp: Optional[paramiko.SFTPClient] = None
        self._sftp_transport: Optional[paramiko.Transport] = None
        self._failures = 0
        self._retry_at = 0.0
        self._last_error: Optional[HostUnavailable] = None

    # -------------------------------------------------------------------------------------------- connecting
    @property
    def connected(self) -> bool:
        connection = self._connection
        transport = connection.client.get_transport() if connection is not None else None
        return transport is not None and transport.is_active()

    def transport(self) -> paramiko.Transport:
        """The open transport, connecting first when needed. Raises :class:`HostUnavailable`."""
        with self._lock:
            connection = self._connection
            transport = connection.client.get_transport() if connection is not None else None
            if transport is not None and transport.is_active():
                return transport
            if connection is not None:
                self._close_connection()
            now = time.monotonic()
            if self._last_error is not None and now < self._retry_at:
                wait = self._retry_at - now
                error = self._last_error
                raise type(error)(f"{error.bare} (next try in {wait:.1f} s)", host=error.host,
                                  hint=error.hint)
            return self._connect()

    def _connect(self) -> paramiko.Transport:
        connection = make_connection(self.target, self.connect_timeout)
        address = f"{connection.host}:{connection.port}"
        try:
            check_host_keys(connection, self.accept_new_host_keys)
            connection.open()
            transport = connection.client.get_transport()
            if transport is None or not transport.is_active():
                raise paramiko.SSHException("the connection closed right after it opened")
        except JobTypeError:
            _close_quietly(connection)
            raise
        except Exception as exc:  # noqa: BLE001 - paramiko raises many kinds; each is turned into words
            _close_quietly(connection)
            error = connect_error(exc, self.target, address, connection.user)
            self._failures += 1
            pause = min(self.backoff_max, FIRST_PAUSE * 2 ** (self._failures - 1))
            self._retry_at = time.monotonic() + pause
            self._last_error = error
            log.warning("%s", error)
            raise error from None
        transport.set_keepalive(KEEPALIVE)
        if isinstance(transport.sock, socket.socket):  # small requests go out at once (saves ~40 ms each)
            try:
                transport.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        self._connection = connection
        self._failures = 0
        self._last_error = None
        self.connections_opened += 1
        log.info("connected to %s (%s as %s)", self.target.label, address, connection.user)
        return transport

    def _close_connection(self) -> None:
        connection, self._connection = self._connection, None
        with self._sftp_lock:
            sftp, self._sftp, self._sftp_transport = self._sftp, None, None
        if sftp is not None:
            try:
                sftp.close()
            except Exception:  # noqa: BLE001 - closing a dead channel may fail; it is gone either way
                pass
        if connection is not None:
            _close_quietly(connection)

    def retry_now(self) -> None:
        """Forget the pause after a failed connect: the next call tries at once."""
        with self._lock:
            self._retry_at = 0.0
            self._last_error = None

    def drop(self) -> None:
        """Close the connection now; the next call opens a new one (without waiting for a pause)."""
        with self._lock:
            self._close_connection()

    def close(self) -> None:
        self.drop()

    # -------------------------------------------------------------------------------------------- commands
    def exec(self, command: str, *, stdin: Optional[bytes] = None, timeout: float = 60.0,
             idempotent: bool = True, what: str = "running a command") -> ExecResult:
        """Run ``command`` on the host (through the user's login shell, as ``ssh host command`` does).

        ``stdin`` is sent and closed. A command is sent again on a new connection when the old one had died
        before it could be sent; an ``idempotent`` command also when the connection dropped while it ran.
        Raises :class:`HostUnavailable` when the host cannot be reached, :class:`CommandTimeout` after
        ``timeout`` seconds.
        """
        tries = 2
        for attempt in range(1, tries + 1):
            transport = self.transport()
            try:
                return self._exec_once(transport, command, stdin, timeout)
            except _Dropped as exc:
                self.drop()
                if attempt == tries:
                    raise connection_lost(self.target, what, exc.__cause__ or exc, sent=False) from None
            except (paramiko.SSHException, EOFError, OSError) as exc:
                self.drop()
                if not idempotent or attempt == tries:
                    raise connection_lost(self.target, what, exc) from None
        raise AssertionError("unreachable")

    def _exec_once(self, transport: paramiko.Transport, command: str, stdin: Optional[bytes],
                   timeout: float) -> ExecResult:
        try:
            channel = transport.open_session(timeout=self.connect_timeout)
            channel.exec_command(command)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise _Dropped(str(exc)) from exc
        self.commands_run += 1
        deadline = time.monotonic() + timeout
        out = bytearray()
        err = bytearray()
        try:
            if stdin is not None:
                channel.sendall(stdin)
                channel.shutdown_write()
            channel.settimeout(0.05)
            while True:
                while channel.recv_stderr_ready():
                    err += channel.recv_stderr(1 << 16)
                try:
                    data = channel.recv(1 << 16)
                except (socket.timeout, TimeoutError):
                    data = None
                if data:
                    out += data
                elif data == b"":  # end of output: wait for the exit status
                    if channel.exit_status_ready() or channel.status_event.wait(0.05):
                        while channel.recv_stderr_ready():
                            err += channel.recv_stderr(1 << 16)
                        return ExecResult(channel.recv_exit_status(), bytes(out), bytes(err))
                if not transport.is_active():
                    raise EOFError("the connection closed")
                if time.monotonic() > deadline:
                    if not self._answers(transport):
                        self.drop()  # a stalled connection: the next call opens a new one
                    raise CommandTimeout(f"a remote command did not finish within {timeout:g} s",
                                         host=self.target.label,
                                         hint="the host may be overloaded or the network stalled; cc tries again")
        finally:
            channel.close()

    def _answers(self, transport: paramiko.Transport) -> bool:
        """Whether the host still answers on ``transport`` (it opens a channel within the connect timeout)."""
        try:
            transport.open_session(timeout=min(5.0, self.connect_timeout)).close()
            return True
        except (paramiko.SSHException, EOFError, OSError):
            return False

    # -------------------------------------------------------------------------------------------- files
    @contextmanager
    def sftp(self) -> Iterator[paramiko.SFTPClient]:
        """The host's SFTP session (one at a time). Raises :class:`HostUnavailable`."""
        transport = self.transport()
        with self._sftp_lock:
            if self._sftp is None or self._sftp_transport is not transport:
                try:
                    self._sftp = paramiko.SFTPClient.from_transport(transport)
                except (paramiko.SSHException, EOFError, OSError) as exc:
                    raise connection_lost(self.target, "opening SFTP (is a 'Subsystem sftp' line in the host's "
                                                       "sshd_config?)", exc) from None
                if self._sftp is None:
                    raise connection_lost(self.target, "opening SFTP", EOFError("no SFTP channel"))
                self._sftp_transport = transport
                self._sftp.get_channel().settimeout(max(self.connect_timeout, 30.0))
            yield self._sftp



def _close_quietly(connection: Connection) -> None:
    hop: Optional[Connection] = connection
    while isinstance(hop, Connection):
        try:
            hop.client.close()
        except Exception:  # noqa: BLE001
            pass
        hop = hop.gateway if isinstance(hop.gateway, Connection) else None
