"""Host key checking: on by default, as with ``ssh``.

A host whose key is in a known_hosts file is trusted; a changed key is refused (paramiko raises
``BadHostKeyException``); an unknown host is refused with :class:`UnknownHostKey` unless new keys are accepted
(``CC_SSH_ACCEPT_NEW_HOST_KEYS=1``, the ssh option ``accept_new_host_keys: true`` or ``StrictHostKeyChecking
accept-new`` in the ssh config file). An accepted key is recorded in the user's known_hosts file, so the next
connection checks it like ``ssh`` would.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from pathlib import Path
from typing import Optional

import paramiko
from fabric import Connection

from cc_ssh.target import accepts_new_keys, known_hosts_files

_record_lock = threading.Lock()


def fingerprint(key: paramiko.PKey) -> str:
    """``SHA256:...``, as ``ssh-keygen -lf`` and ``ssh`` print it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


class UnknownHostKey(paramiko.SSHException):
    """The host's key is in no known_hosts file and new keys are not accepted."""

    def __init__(self, hostname: str, key: paramiko.PKey, files: list[Path]) -> None:
        self.hostname = hostname
        self.key_type = key.get_name()
        self.fingerprint = fingerprint(key)
        self.files = files
        super().__init__(f"unknown host key for {hostname}: {self.key_type} {self.fingerprint}")


class HostKeyPolicy(paramiko.MissingHostKeyPolicy):
    """Refuses unknown hosts, or records their key in ``record_in`` when ``accept_new``."""

    def __init__(self, accept_new: bool, record_in: Path, files: list[Path]) -> None:
        self.accept_new = accept_new
        self.record_in = record_in
        self.files = files

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        if not self.accept_new:
            raise UnknownHostKey(hostname, key, self.files)
        record_host_key(self.record_in, hostname, key)
        client.get_host_keys().add(hostname, key.get_name(), key)


def record_host_key(path: Path, hostname: str, key: paramiko.PKey) -> None:
    """Append ``hostname``'s key to the known_hosts file ``path`` (made with the modes ssh expects)."""
    with _record_lock:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        existed = path.exists()
        text = path.read_text(encoding="utf-8") if existed else ""
        with open(path, "a", encoding="ascii") as handle:
            if text and not text.endswith("\n"):
                handle.write("\n")
            handle.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        if not existed:
            os.chmod(path, 0o600)


def check_host_keys(connection: Connection, accept_new: bool) -> None:
    """Load known hosts into ``connection`` and each ProxyJump hop before it, and set the policy for unknown
    hosts (Fabric itself would accept any key)."""
    hop: Optional[Connection] = connection
    while isinstance(hop, Connection):
        user_files, system_files = known_hosts_files(dict(hop.ssh_config))
        for path in [*system_files, *user_files]:
            if path.is_file():
                try:
                    hop.client.load_system_host_keys(str(path))
                except (OSError, paramiko.SSHException):
                    continue  # an unreadable file trusts nothing; an unknown host then says which files
        accept = accept_new or accepts_new_keys(dict(hop.ssh_config))
        hop.client.set_missing_host_key_policy(HostKeyPolicy(accept, user_files[0], user_files + system_files))
        hop = hop.gateway if isinstance(hop.gateway, Connection) else None
