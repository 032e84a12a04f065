"""The connections of this process: one per host, shared by the ssh job type and by other plugins (the SLURM
job type reaches its login node through :func:`cc_ssh.remote.shell_for`)."""

from __future__ import annotations

import threading
from typing import Optional

from cc_ssh.connection import HostConnection
from cc_ssh.target import HostTarget


class ConnectionPool:
    """Hands out the one :class:`HostConnection` of each host (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hosts: dict[tuple[str, str, str], HostConnection] = {}

    def get(self, target: HostTarget, *, accept_new_host_keys: bool = False, connect_timeout: float = 10.0,
            backoff_max: float = 30.0) -> HostConnection:
        """The connection to ``target`` (made, not opened, on first use). Asking with ``accept_new_host_keys``
        turns it on for that host's connection."""
        with self._lock:
            connection = self._hosts.get(target.key)
            if connection is None:
                connection = HostConnection(target, accept_new_host_keys=accept_new_host_keys,
                                            connect_timeout=connect_timeout, backoff_max=backoff_max)
                self._hosts[target.key] = connection
            elif accept_new_host_keys and not connection.accept_new_host_keys:
                connection.accept_new_host_keys = True
                connection.retry_now()  # an unknown host key may have been what kept it out
            return connection

    def find(self, target: HostTarget) -> Optional[HostConnection]:
        with self._lock:
            return self._hosts.get(target.key)

    def connections(self) -> list[HostConnection]:
        with self._lock:
            return list(self._hosts.values())

    def close(self, targets: Optional[list[HostTarget]] = None) -> None:
        """Close the connections to ``targets`` (all when ``None``). They stay in the pool and open again when
        used, so whoever holds one keeps sharing it."""
        with self._lock:
            keys = list(self._hosts) if targets is None else [t.key for t in targets if t.key in self._hosts]
            closing = [self._hosts[key] for key in keys]
        for connection in closing:
            connection.close()

    def clear(self) -> None:
        """Close and forget every connection (tests start from an empty pool this way)."""
        with self._lock:
            closing = list(self._hosts.values())
            self._hosts.clear()
        for connection in closing:
            connection.close()


POOL = ConnectionPool()
"""The process-wide pool."""
