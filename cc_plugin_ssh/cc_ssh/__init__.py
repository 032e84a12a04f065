"""cc's ``ssh`` job type: run workflow jobs on other hosts over SSH.

A job with ``kind: ssh`` and ``host: server1`` (an alias from ``~/.ssh/config``) or ``host: me@server1`` runs
there, detached under a small wrapper, over one connection per host. :mod:`cc_ssh.remote` offers the same
connections to other plugins (``shell_for(host).run(...)``).
"""

from __future__ import annotations

__all__ = ["SSHJobType", "shell_for"]


def __getattr__(name: str) -> object:
    if name == "SSHJobType":
        from cc_ssh.jobtype import SSHJobType

        return SSHJobType
    if name == "shell_for":
        from cc_ssh.remote import shell_for

        return shell_for
    raise AttributeError(name)
