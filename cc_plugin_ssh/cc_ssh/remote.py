"""A shell on another host, for other plugins: run commands and copy files over cc's one connection per host.

The SLURM job type, for example, runs ``sbatch`` on a cluster's login node this way::

    from cc_ssh.remote import shell_for

    login = shell_for("me@login.cluster.org")            # or an alias from ~/.ssh/config
    result = login.run("sbatch --parsable job.sh", timeout=30)
    if result.exit_code != 0:
        ...                                              # result.stderr says why
    login.put("job.sh", "~/jobs/job.sh")
    login.get("~/jobs/out.txt", "out.txt")

``shell_for(host, *, config_path=None, accept_new_host_keys=False)`` returns the process-wide shell of that host
(the same object for the same host, config file and user), backed by the same pooled connection the ``ssh`` job
type uses: HostName, User, Port, IdentityFile, ProxyJump of the ssh config file (``config_path``, else
``CC_SSH_CONFIG``, else ``~/.ssh/config``) apply, agent keys are offered, host keys are checked
(``accept_new_host_keys=True`` or ``CC_SSH_ACCEPT_NEW_HOST_KEYS=1`` records unknown ones in known_hosts).

* ``.run(command, *, timeout=None, stdin=None) -> RemoteResult(exit_code, stdout, stderr)`` runs ``command``
  through the remote user's shell (by the host agent in one round trip when the host has python3, else as a
  command of its own). A non-zero exit code is returned, not raised. ``command`` is sent once: when
  the connection drops while it runs, :class:`cc_ssh.failures.HostUnavailable` is raised (a command is sent again
  on a fresh connection only when the old one had died before it was sent).
* ``.put(local_path, remote_path)`` / ``.get(remote_path, local_path)`` copy a file or a folder; ``~/`` in a
  remote path means the remote home. ``get`` raises ``FileNotFoundError`` when the remote path does not exist.

Errors are :class:`cc_core.errors.JobTypeError` (host unreachable, authentication refused, unknown host key, remote
disk full), each naming the host and the way out; :class:`cc_ssh.failures.HostUnavailable` marks the ones that may
pass (wrap them with ``cc_ssh.failures.with_job(error, job)`` to name a job too).
"""

from __future__ import annotations

import posixpath
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from cc_core.errors import JobTypeError
from cc_ssh.agent import AgentLost, agent_for
from cc_ssh.connection import HostConnection
from cc_ssh.failures import connection_lost
from cc_ssh.pool import POOL
from cc_ssh.settings import settings_for
from cc_ssh.target import HostTarget
from cc_ssh.transfer import get_path, sftp_path, upload

__all__ = ["RemoteResult", "RemoteShell", "shell_for"]

DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True)
class RemoteResult:
    """What a remote command gave back."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class RemoteShell:
    """Commands and file copies on one host, over its pooled connection."""

    def __init__(self, connection: HostConnection) -> None:
        self.connection = connection

    @property
    def host(self) -> str:
        return self.connection.target.label

    def run(self, command: str, *, timeout: Optional[float] = None,
            stdin: Union[str, bytes, None] = None) -> RemoteResult:
        data = stdin.encode() if isinstance(stdin, str) else stdin
        agent = agent_for(self.connection)
        result = None
        if agent is not None:
            try:
                result = agent.run(command, data, timeout or DEFAULT_TIMEOUT)
            except AgentLost as exc:
                if exc.sent:   # it may have run: never sent twice
                    raise connection_lost(self.connection.target, f"running '{command[:60]}'", exc) from None
        if result is None:
            result = self.connection.exec(command, stdin=data, timeout=timeout or DEFAULT_TIMEOUT,
                                          idempotent=False)
        return RemoteResult(result.exit_code, result.stdout.decode("utf-8", "replace"),
                            result.stderr.decode("utf-8", "replace"))

    def put(self, local_path: Union[str, Path], remote_path: str) -> None:
        local = Path(local_path).expanduser()
        if not local.exists():
            raise FileNotFoundError(f"{local} does not exist")
        upload(self.connection, [(local, remote_path)], folder=posixpath.dirname(remote_path) or "~")

    def get(self, remote_path: str, local_path: Union[str, Path]) -> None:
        with self.connection.sftp() as sftp:
            try:
                found = get_path(sftp, sftp_path(remote_path), Path(local_path).expanduser())
            except OSError as exc:
                raise JobTypeError(f"cannot copy {remote_path} from the host ({exc})", host=self.host) from None
        if not found:
            raise FileNotFoundError(f"{remote_path} does not exist on {self.host}")


_shells: dict[tuple[str, str, str], RemoteShell] = {}
_shells_lock = threading.Lock()


def shell_for(host: str, *, config_path: Optional[str] = None, accept_new_host_keys: bool = False,
              user: Optional[str] = None) -> RemoteShell:
    """The shared :class:`RemoteShell` of ``host`` (an alias or ``user@server[:port]``); see the module doc."""
    settings = settings_for({"ssh_config": config_path, "accept_new_host_keys": accept_new_host_keys or None})
    target = HostTarget(host, user, settings.config_path)
    connection = POOL.get(target, accept_new_host_keys=settings.accept_new_host_keys,
                          connect_timeout=settings.connect_timeout, backoff_max=settings.reconnect_backoff_max)
    with _shells_lock:
        shell = _shells.get(target.key)
        if shell is None or shell.connection is not connection:
            shell = _shells[target.key] = RemoteShell(connection)
        return shell
