"""The host agent: one small long-lived program per host that starts jobs and tells of their ends as they happen.

cc sends the agent (``cc_ssh/host_agent.py``, standard library only) over the host's one connection as one
command, ``python3 -u -c <bootstrap>``, which reads the program from its standard input. From then on the agent
answers requests in one round trip each (run a ``sh`` script, run a command) and pushes events: a watched job's log
grew, it ended (with the exit code read from its durable ``cc.exit_code``), or it is gone without one.

Nothing depends on the agent staying up. When it or the connection dies, whoever uses it is told
(:meth:`HostAgent.on_lost`) and goes back to plain commands; the next :func:`agent_for` starts a new agent. A host
without ``python3`` gets no agent (asked once per connection) and is served by plain commands throughout.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import threading
import time
from importlib import resources
from typing import Any, Callable, Optional

import paramiko

from cc_ssh.connection import CommandTimeout, ExecResult, HostConnection

log = logging.getLogger(__name__)

START_TIMEOUT = 15.0
RETRY_PAUSE = 2.0        # after an agent failed to start, plain commands serve the host this long
BOOTSTRAP = ("python3 -u -c 'import sys; n = int(sys.stdin.buffer.readline()); "
             "exec(compile(sys.stdin.buffer.read(n), \"cc-host-agent\", \"exec\"))'")

Event = dict[str, Any]
Listener = Callable[[Event], None]


class AgentLost(Exception):
    """The agent (or its connection) went away before it answered. ``sent`` is False when the request surely never
    reached it (so sending it another way cannot run it twice)."""

    def __init__(self, message: str, sent: bool = True) -> None:
        super().__init__(message)
        self.sent = sent


class HostAgent:
    """The agent on one host, reached over the host's connection. Thread-safe."""

    def __init__(self, connection: HostConnection) -> None:
        self.connection = connection
        self.alive = False
        self.requests = 0
        self._channel: Optional[paramiko.Channel] = None
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._waiting: dict[int, tuple[threading.Event, list[Event]]] = {}
        self._listeners: dict[str, Listener] = {}
        self._lost_listeners: list[Callable[[], None]] = []
        self.no_python = False
        self.pid = 0

    # ------------------------------------------------------------------------------------------------ life
    def start(self) -> None:
        """Start the agent and wait for its greeting. Raises :class:`AgentLost` (``no_python`` set when the
        host has no python3)."""
        transport = self.connection.transport()
        source = resources.files("cc_ssh").joinpath("host_agent.py").read_bytes()
        try:
            channel = transport.open_session(timeout=self.connection.connect_timeout)
            channel.exec_command(BOOTSTRAP)
            channel.sendall(b"%d\n" % len(source) + source)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise AgentLost(f"could not start the host agent ({exc})") from None
        stream = channel.makefile("rb")
        channel.settimeout(START_TIMEOUT)
        try:
            first = stream.readline()
        except (OSError, EOFError, paramiko.SSHException) as exc:
            channel.close()
            raise AgentLost(f"the host agent did not start ({exc})") from None
        if not first:
            status = channel.recv_exit_status() if channel.exit_status_ready() or \
                channel.status_event.wait(2) else None
            detail = channel.recv_stderr(4000).decode("utf-8", "replace").strip() if channel.recv_stderr_ready() \
                else ""
            channel.close()
            self.no_python = status == 127
            raise AgentLost(f"the host agent did not start (exit status {status}: {detail or 'no output'})")
        try:
            hello = json.loads(first)
        except ValueError:
            channel.close()
            raise AgentLost(f"the host agent said {first[:200]!r} instead of hello (a login banner?)") from None
        channel.settimeout(None)
        self._channel = channel
        self.pid = int(hello.get("pid") or 0)
        self.alive = True
        threading.Thread(target=self._read, args=(stream,), name=f"cc-agent-{self.connection.target.label}",
                         daemon=True).start()
        log.info("host agent started on %s (pid %s, Python %s)", self.connection.target.label, hello.get("pid"),
                 hello.get("python"))

    def close(self) -> None:
        channel = self._channel
        if channel is not None:
            channel.close()

    def on_lost(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (from the agent's reader thread) when the agent goes away."""
        with self._lock:
            self._lost_listeners.append(listener)

    # ------------------------------------------------------------------------------------------------ reading
    def _read(self, stream: Any) -> None:
        try:
            for line in iter(stream.readline, b""):
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if "ev" in message:
                    with self._lock:
                        listener = self._listeners.get(str(message.get("folder")))
                    if listener is not None:
                        try:
                            listener(message)
                        except Exception:  # noqa: BLE001 - a listener's bug must not end the agent's reading
                            log.exception("host agent event %s", message.get("ev"))
                    continue
                with self._lock:
                    waiting = self._waiting.pop(int(message.get("id") or 0), None)
                if waiting is not None:
                    waiting[1].append(message)
                    waiting[0].set()
        except (OSError, EOFError, paramiko.SSHException):
            pass
        finally:
            self._lose()

    def _lose(self) -> None:
        with self._lock:
            self.alive = False
            waiting, self._waiting = self._waiting, {}
            lost, self._lost_listeners = self._lost_listeners, []
            self._listeners.clear()
        if self._channel is not None:
            self._channel.close()
        for event, _ in waiting.values():
            event.set()
        log.info("host agent on %s ended", self.connection.target.label)
        for listener in lost:
            try:
                listener()
            except Exception:  # noqa: BLE001
                log.exception("host agent loss listener")

    # ------------------------------------------------------------------------------------------------ requests
    def request(self, message: Event, timeout: float) -> Event:
        """Send ``message`` and wait for its answer. Raises :class:`AgentLost` or :class:`CommandTimeout`."""
        number = next(self._ids)
        done = threading.Event()
        answer: list[Event] = []
        with self._lock:
            if not self.alive or self._channel is None:
                raise AgentLost("the host agent is not running", sent=False)
            self._waiting[number] = (done, answer)
        line = (json.dumps({**message, "id": number}) + "\n").encode()
        try:
            with self._send_lock:
                self._channel.sendall(line)
        except (OSError, EOFError, paramiko.SSHException) as exc:
            with self._lock:
                self._waiting.pop(number, None)
            raise AgentLost(f"the host agent could not be reached ({exc})") from None
        self.requests += 1
        if not done.wait(timeout):
            with self._lock:
                self._waiting.pop(number, None)
            raise CommandTimeout(f"the host agent did not answer within {timeout:g} s",
                                 host=self.connection.target.label,
                                 hint="the host may be overloaded; cc tries again")
        if not answer:
            raise AgentLost("the host agent went away before it answered")
        return answer[0]

    def sh(self, script: str, timeout: float) -> ExecResult:
        """``sh -s`` with ``script`` as its input, run by the agent (one round trip, no new channel)."""
        return self._result(self.request({"op": "sh", "script": script, "timeout": timeout}, timeout + 5), timeout)

    def run(self, command: str, stdin: Optional[bytes], timeout: float) -> ExecResult:
        """``command`` through the user's shell (``$SHELL -c``), as ``ssh host command`` runs it."""
        message = {"op": "run", "command": command, "timeout": timeout,
                   "stdin": base64.b64encode(stdin or b"").decode("ascii")}
        return self._result(self.request(message, timeout + 5), timeout)

    def _result(self, answer: Event, timeout: float) -> ExecResult:
        if "error" in answer:
            raise AgentLost(f"the host agent could not run it: {answer['error']}")
        if answer.get("timeout"):
            raise CommandTimeout(f"a remote command did not finish within {timeout:g} s",
                                 host=self.connection.target.label,
                                 hint="the host may be overloaded or the network stalled; cc tries again")
        return ExecResult(int(answer.get("code", -1)), base64.b64decode(answer.get("out") or ""),
                          base64.b64decode(answer.get("err") or ""))

    def watch(self, folder: str, log_path: str, offset: int, listener: Listener, timeout: float = 30.0) -> None:
        """Report the job in ``folder`` to ``listener``: its log from ``offset`` on, its end."""
        with self._lock:
            self._listeners[folder] = listener
        try:
            self.request({"op": "watch", "folder": folder, "log": log_path, "offset": offset}, timeout)
        except Exception:
            with self._lock:
                self._listeners.pop(folder, None)
            raise

    def forget(self, folder: str) -> None:
        """Stop reporting on ``folder`` (locally; the agent stops by itself once the job ended)."""
        with self._lock:
            self._listeners.pop(folder, None)


_agents: dict[int, HostAgent] = {}
_failed: dict[int, float] = {}
_starting: dict[int, threading.Lock] = {}
_lock = threading.Lock()


def agent_for(connection: HostConnection, *, start: bool = True) -> Optional[HostAgent]:
    """The running agent of ``connection``'s host, started when needed (``None`` when the host has none: no
    python3, the connection is down, or a start failed less than :data:`RETRY_PAUSE` ago)."""
    key = id(connection)
    with _lock:
        agent = _agents.get(key)
        if agent is not None and agent.alive:
            return agent
        if not start or (agent is not None and agent.no_python) or time.monotonic() < _failed.get(key, 0.0):
            return None
        starting = _starting.setdefault(key, threading.Lock())
    with starting:   # one start per host at a time; other hosts are not held up
        with _lock:
            agent = _agents.get(key)
            if agent is not None and agent.alive:
                return agent
            if time.monotonic() < _failed.get(key, 0.0):
                return None
        agent = HostAgent(connection)
        try:
            agent.start()
        except Exception as exc:  # noqa: BLE001 - no agent: plain commands serve the host
            with _lock:
                _failed[key] = time.monotonic() + RETRY_PAUSE
                if agent.no_python:
                    _agents[key] = agent
            if agent.no_python:
                log.warning("host '%s' has no python3: cc follows its jobs with plain commands (%s)",
                            connection.target.label, exc)
            else:
                log.info("host '%s': %s", connection.target.label, exc)
            return None
        with _lock:
            _agents[key] = agent
        return agent


def close_agents(connections: Optional[list[HostConnection]] = None) -> None:
    """End the agents of ``connections`` (all when ``None``)."""
    with _lock:
        keys = list(_agents) if connections is None else [id(c) for c in connections]
        agents = [_agents.pop(key) for key in keys if key in _agents]
        for key in keys:
            _failed.pop(key, None)
    for agent in agents:
        agent.close()
