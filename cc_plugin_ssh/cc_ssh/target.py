"""Which host a job names, and how the ssh config file turns that into a connection.

A job names its host as an alias from the ssh config file (``server1``), a name (``server1.example.org``), or
``user@server[:port]``; its ``user:`` field sets the user when the host does not. The ssh config file
(``~/.ssh/config`` unless ``CC_SSH_CONFIG`` or the option ``ssh_config`` says otherwise) supplies HostName, User,
Port, IdentityFile, ProxyJump, ProxyCommand, ConnectTimeout, UserKnownHostsFile and StrictHostKeyChecking,
as it does for ``ssh`` itself.
"""

from __future__ import annotations

import math
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from fabric import Config, Connection

from cc_core.errors import JobTypeError

DEFAULT_CONFIG = "~/.ssh/config"
DEFAULT_KNOWN_HOSTS = ("~/.ssh/known_hosts", "~/.ssh/known_hosts2")
GLOBAL_KNOWN_HOSTS = ("/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2")


@dataclass(frozen=True)
class HostTarget:
    """A host as a workflow names it, with the user and ssh config file that apply."""

    host: str
    user: Optional[str] = None
    config_path: Optional[str] = None

    @property
    def key(self) -> tuple[str, str, str]:
        """What the connection pool keys on: one connection per (config file, host, user)."""
        return (self.config_path or "", self.host, "" if "@" in self.host else (self.user or ""))

    @property
    def label(self) -> str:
        """The host as a user would write it (``user@server`` when a user was given)."""
        if self.user and "@" not in self.host:
            return f"{self.user}@{self.host}"
        return self.host

    @property
    def config_label(self) -> str:
        return self.config_path or DEFAULT_CONFIG

    def ssh_command(self, remote: str = "true") -> str:
        """The ``ssh`` command line a user can try by hand to check this host."""
        flag = f"-F {self.config_path} " if self.config_path else ""
        return f"ssh {flag}{self.label} {remote}"


def ssh_settings(config_path: Optional[str]) -> Config:
    """A Fabric config that reads ``config_path`` only (as ``ssh -F`` does), or the system and user ssh config
    files when ``config_path`` is ``None``. Raises :class:`JobTypeError` when a named file does not exist."""
    if config_path and not Path(config_path).is_file():
        raise JobTypeError(f"the ssh config file {config_path} does not exist",
                           hint="point CC_SSH_CONFIG or the ssh option 'ssh_config' at an existing file, or unset it "
                                f"to use {DEFAULT_CONFIG}")
    return Config(runtime_ssh_path=config_path) if config_path else Config()


def host_entry(target: HostTarget) -> dict[str, Any]:
    """What the ssh config file says about the target's host (lower-case keys, as paramiko gives them)."""
    name = target.host.rsplit("@", 1)[-1]
    if name.startswith("[") or name.count(":") != 1:
        lookup = name
    else:
        lookup = name.split(":", 1)[0]
    return dict(ssh_settings(target.config_path).base_ssh_config.lookup(lookup))


def make_connection(target: HostTarget, connect_timeout: float) -> Connection:
    """A Fabric connection (not yet open) to ``target``, as the ssh config file describes it."""
    config = ssh_settings(target.config_path)
    user = target.user if target.user and "@" not in target.host else None
    seconds = max(1, math.ceil(connect_timeout))
    configured = str(host_entry(target).get("connecttimeout", ""))
    if configured.isdigit():
        seconds = max(1, int(configured))  # ConnectTimeout in the ssh config file wins
    return Connection(target.host, user=user, config=config, connect_timeout=seconds,
                      connect_kwargs={"banner_timeout": float(seconds), "auth_timeout": float(seconds)})


def known_hosts_files(entry: dict[str, Any]) -> tuple[list[Path], list[Path]]:
    """The user's known_hosts files (the first is where new keys are recorded) and the system-wide ones."""
    user = str(entry.get("userknownhostsfile") or "").split() or list(DEFAULT_KNOWN_HOSTS)
    system = str(entry.get("globalknownhostsfile") or "").split() or list(GLOBAL_KNOWN_HOSTS)
    return ([Path(os.path.expanduser(p)) for p in user], [Path(os.path.expanduser(p)) for p in system])


def accepts_new_keys(entry: dict[str, Any]) -> bool:
    """``StrictHostKeyChecking accept-new`` (or ``no``) in the ssh config file accepts new host keys too."""
    return str(entry.get("stricthostkeychecking", "")).strip().lower() in ("accept-new", "no", "off")


def resolution_problem(target: HostTarget, timeout: float = 2.0) -> Optional[str]:
    """Why ``target`` cannot be found (neither an alias with a HostName nor a name that resolves), or ``None``."""
    try:
        entry = host_entry(target)
    except JobTypeError as exc:
        return exc.message
    if "proxyjump" in entry or "proxycommand" in entry:
        return None  # the name is resolved by the jump host
    name = str(entry.get("hostname") or target.host.rsplit("@", 1)[-1].split(":", 1)[0])
    outcome: list[Optional[str]] = []

    def resolve() -> None:
        try:
            socket.getaddrinfo(name, None)
            outcome.append(None)
        except OSError as exc:
            outcome.append(str(exc))

    worker = threading.Thread(target=resolve, daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome or outcome[0] is None:
        return None  # resolved, or the resolver is slow: the connection will tell
    return (f"host '{target.host}' is not an alias in {target.config_label} and the name '{name}' does not "
            f"resolve ({outcome[0]}); add a 'Host {target.host}' entry with its HostName, or fix the name")
