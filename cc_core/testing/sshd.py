"""A private sshd for tests: real OpenSSH on a free 127.0.0.1 port, with everything it needs in a temp folder.

::

    from cc_core.testing.sshd import SSHServer, start_sshd

    server = start_sshd(tmp_path / "sshd")          # skips (or fails under CI=true) when sshd is missing
    # server.alias, server.port, server.config_path (an ssh_config file), server.known_hosts, server.user
    server.stop(); server.start()                   # drop every connection, then listen again on the same port
    server.close()

The folder holds a host key, a user key, the ``authorized_keys`` file the server reads (the user's own
``~/.ssh`` is never touched), ``sshd_config``, the server's log and pid file, and an ``ssh_config`` with a
``Host`` alias for the server (``HostName 127.0.0.1``, ``Port``, ``User``, ``IdentityFile``,
``UserKnownHostsFile``), usable as ``ssh -F server.config_path server.alias``.

:func:`sshd_server` is a ready pytest fixture factory; a test suite's ``conftest.py`` can do::

    from cc_core.testing.sshd import sshd_server
    sshd = sshd_server(scope="session")
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator, Literal, NoReturn, Optional

SSHD = "/usr/sbin/sshd"
SFTP_SERVERS = ("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server", "/usr/libexec/sftp-server")
START_TIMEOUT = 10.0


def in_ci() -> bool:
    """``True`` when the environment says this is CI, where a missing component is a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing_component(reason: str) -> NoReturn:
    """Skip the test with ``reason``, or fail it when ``CI=true`` (CI must have every component installed)."""
    import pytest

    if in_ci():
        pytest.fail(f"{reason} (CI=true: a missing component fails the test)", pytrace=False)
    pytest.skip(reason)


def require_sshd() -> str:
    """The path of sshd, after checking that it and ``ssh-keygen`` are installed (skip or fail otherwise)."""
    if not os.access(SSHD, os.X_OK):
        missing_component(f"{SSHD} is not installed (apt-get install openssh-server)")
    if shutil.which("ssh-keygen") is None:
        missing_component("ssh-keygen is not installed (apt-get install openssh-client)")
    return SSHD


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _keygen(path: Path) -> None:
    if not path.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "cc-test", "-f", str(path)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=30)


def _children(parent: int) -> list[int]:
    """Process ids whose parent is ``parent`` (read from /proc)."""
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == parent:
            found.append(int(entry))
    return found


def _command_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return False


class SSHServer:
    """One private OpenSSH server. Build it with :func:`start_sshd` (or call :meth:`start` yourself)."""

    def __init__(self, directory: Path, *, alias: str = "cc-test-host", port: Optional[int] = None,
                 trust_host_key: bool = True, extra_config: str = "") -> None:
        self.directory = Path(directory)
        self.alias = alias
        self.port = port or free_port()
        self.user = getpass.getuser()
        self.extra_config = extra_config
        self.directory.mkdir(parents=True, exist_ok=True)
        self.host_key = self.directory / "ssh_host_ed25519_key"
        self.user_key = self.directory / "id_ed25519"
        self.authorized_keys = self.directory / "authorized_keys"
        self.sshd_config = self.directory / "sshd_config"
        self.config_path = self.directory / "ssh_config"
        self.known_hosts = self.directory / "known_hosts"
        self.log_path = self.directory / "sshd.log"
        self.pid_file = self.directory / "sshd.pid"
        self._prepare(trust_host_key)

    # ------------------------------------------------------------------------------------------------ files
    def _prepare(self, trust_host_key: bool) -> None:
        _keygen(self.host_key)
        _keygen(self.user_key)
        self.authorized_keys.write_text(Path(f"{self.user_key}.pub").read_text())
        self.authorized_keys.chmod(0o600)
        sftp = next((path for path in SFTP_SERVERS if os.access(path, os.X_OK)), "internal-sftp")
        self.sshd_config.write_text("\n".join([
            f"Port {self.port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {self.host_key}",
            f"PidFile {self.pid_file}",
            f"AuthorizedKeysFile {self.authorized_keys}",
            "StrictModes no",
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "AllowTcpForwarding yes",
            "LogLevel VERBOSE",
            "MaxStartups 200:30:400",
            "MaxSessions 200",
            f"Subsystem sftp {sftp}",
            self.extra_config,
            "",
        ]))
        self.write_ssh_config()
        self.trust_host_key(trust_host_key)

    def ssh_config_text(self, alias: Optional[str] = None, **extra: str) -> str:
        """An ``ssh_config`` block for this server under ``alias`` (default :attr:`alias`); ``extra`` adds
        options (``ProxyJump="cc-test-host"``)."""
        lines = [
            f"Host {alias or self.alias}",
            "    HostName 127.0.0.1",
            f"    Port {self.port}",
            f"    User {self.user}",
            f"    IdentityFile {self.user_key}",
            "    IdentitiesOnly yes",
            f"    UserKnownHostsFile {self.known_hosts}",
            "    BatchMode yes",
        ]
        lines += [f"    {key} {value}" for key, value in extra.items()]
        return "\n".join(lines) + "\n"

    def write_ssh_config(self, extra: str = "") -> Path:
        """(Re)write :attr:`config_path`: the alias block, then ``extra`` (more ``Host`` blocks)."""
        self.config_path.write_text(self.ssh_config_text() + extra)
        return self.config_path

    def host_key_line(self) -> str:
        """This server's known_hosts line (``[127.0.0.1]:PORT ssh-ed25519 AAAA...``)."""
        kind, blob = Path(f"{self.host_key}.pub").read_text().split()[:2]
        return f"[127.0.0.1]:{self.port} {kind} {blob}\n"

    def trust_host_key(self, trusted: bool = True) -> None:
        """Write :attr:`known_hosts` with this server's key in it (``trusted``) or empty."""
        self.known_hosts.write_text(self.host_key_line() if trusted else "")

    # ------------------------------------------------------------------------------------------------ process
    @property
    def pid(self) -> Optional[int]:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    @property
    def running(self) -> bool:
        pid = self.pid
        return pid is not None and _alive(pid)

    def start(self) -> "SSHServer":
        """Start listening (again) on :attr:`port`. Raises ``RuntimeError`` when sshd does not come up."""
        if self.running:
            return self
        if os.geteuid() == 0:  # sshd refuses to start without its privilege separation folder
            Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
        checked = subprocess.run([SSHD, "-t", "-f", str(self.sshd_config)], capture_output=True, text=True,
                                 timeout=30)
        if checked.returncode != 0:
            raise RuntimeError(f"sshd rejects {self.sshd_config}: {checked.stderr.strip()}")
        self.pid_file.unlink(missing_ok=True)
        started = subprocess.run([SSHD, "-f", str(self.sshd_config), "-E", str(self.log_path)],
                                 capture_output=True, text=True, timeout=30)
        if started.returncode != 0:
            raise RuntimeError(f"sshd did not start: {started.stderr.strip() or self._log_tail()}")
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.pid is not None and self._accepts():
                return self
            time.sleep(0.02)
        raise RuntimeError(f"sshd did not listen on 127.0.0.1:{self.port} within {START_TIMEOUT:g} s: "
                           f"{self._log_tail()}")

    def _accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.settimeout(2.0)
                return sock.recv(4).startswith(b"SSH-")
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the server and drop every open connection (as a reboot of sshd or a network cut would). Jobs
        started over those connections in a session of their own keep running."""
        pid = self.pid
        if pid is None:
            return
        sessions = [child for child in self._tree(pid) if _command_name(child) == "sshd"]
        for victim in [pid, *sessions]:
            try:
                os.kill(victim, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and any(_alive(p) for p in [pid, *sessions]):
            time.sleep(0.02)
        for victim in [pid, *sessions]:
            if _alive(victim):
                os.kill(victim, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)

    def _tree(self, root: int) -> list[int]:
        found: list[int] = []
        todo = [root]
        while todo:
            for child in _children(todo.pop()):
                found.append(child)
                todo.append(child)
        return found

    def close(self) -> None:
        self.stop()

    def _log_tail(self, lines: int = 10) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no sshd log)"

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def accepted_logins(self) -> int:
        """How many logins the server accepted so far (each new SSH connection that authenticated)."""
        return self.log_text().count("Accepted publickey for ")

    def __enter__(self) -> "SSHServer":
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.close()


def start_sshd(directory: Path, **options: Any) -> SSHServer:
    """Start a private sshd with its files in ``directory`` (see :class:`SSHServer` for ``options``). Skips the
    test when sshd is not installed, or fails it under ``CI=true``."""
    require_sshd()
    if os.geteuid() != 0 and not Path("/run/sshd").is_dir():
        missing_component("sshd needs its privilege separation folder /run/sshd (as root: install -d -m 0755 "
                          "/run/sshd)")
    return SSHServer(directory, **options).start()


def sshd_server(scope: Literal["session", "package", "module", "class", "function"] = "session",
                **options: Any) -> Any:
    """A pytest fixture that yields a started :class:`SSHServer` and closes it afterwards."""
    import pytest

    @pytest.fixture(scope=scope)
    def fixture(tmp_path_factory: Any) -> Iterator[SSHServer]:
        server = start_sshd(tmp_path_factory.mktemp("sshd"), **options)
        try:
            yield server
        finally:
            server.close()

    return fixture
