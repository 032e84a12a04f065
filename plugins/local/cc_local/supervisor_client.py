"""The job type's side of a run's supervisor (:mod:`cc_local.supervisor`): one connection per run folder, the
supervisor started when there is none, requests answered in order, ``ended`` events handed to a callback."""

from __future__ import annotations

import itertools
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

from cc_local.supervisor_socket import socket_address, supervisor_folder

EventCallback = Callable[[dict[str, Any]], None]
AnswerCallback = Callable[[dict[str, Any]], None]
LOST = {"ok": False, "lost": True}
"""The answer a request sent with :meth:`SupervisorClient.send` gets when the supervisor went away before answering
(with an ``error`` saying so): it may or may not have been carried out."""
START_TIMEOUT = 10.0


class SupervisorGone(Exception):
    """The supervisor could not be reached or started, or went away while a request was under way."""


class SupervisorClient:
    def __init__(self, run_folder: Path, on_event: EventCallback) -> None:
        self.folder = supervisor_folder(run_folder)
        self.on_event = on_event
        self._sock: Optional[socket.socket] = None
        self._lock = threading.Lock()            # one request on the wire at a time
        self._answers: dict[int, dict[str, Any]] = {}
        self._callbacks: dict[int, AnswerCallback] = {}   # requests sent with send(), by id
        self._answered = threading.Condition()
        self._ids = itertools.count(1)
        self._started: Optional["subprocess.Popen[bytes]"] = None
        self._ready: Optional[int] = None        # the read end of the pipe a starting supervisor writes to
        self.environment: dict[str, str] = {}
        """The environment this connection told the supervisor (the base of every request's ``env``)."""
        self._told: Optional[dict[bytes, bytes]] = None   # that environment as os.environ held it (raw)

    # ------------------------------------------------------------------------------------------------- connection
    def connect(self, start: bool = True) -> bool:
        """Connect (starting the supervisor when ``start`` and none runs); ``False`` when there is none."""
        if self._sock is not None:
            return True
        sock = self._try_connect()
        if sock is None and start:
            if not self._starting():
                self._start()
            deadline = time.monotonic() + START_TIMEOUT
            while sock is None and time.monotonic() < deadline:
                self._wait_ready(min(0.5, max(0.0, deadline - time.monotonic())))
                sock = self._try_connect()
            if sock is None:
                raise SupervisorGone(f"the supervisor of {self.folder.parent} did not start (see "
                                     f"{self.folder / 'supervisor.log'})")
        if sock is None:
            return False
        # Every start carries only what it adds to this process's environment (environments are large).
        try:
            self._tell_environment(sock)
        except OSError:
            sock.close()
            return False
        self._sock = sock
        threading.Thread(target=self._read, args=(sock,), name="cc-local-supervisor", daemon=True).start()
        return True

    def _tell_environment(self, sock: socket.socket) -> None:
        """Tell the supervisor this process's environment as it is now: the base of the ``env`` of later starts."""
        raw = getattr(os.environ, "_data", None)
        environment = dict(os.environ)
        sock.sendall(json.dumps({"op": "environment", "env": environment, "id": 0}).encode() + b"\n")
        self.environment = environment
        self._told = dict(raw) if isinstance(raw, dict) else None

    def _environment_current(self) -> bool:
        raw = getattr(os.environ, "_data", None)
        return self._told is not None and raw == self._told

    def _try_connect(self) -> Optional[socket.socket]:
        if not (self.folder / "socket").exists():
            return None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            address, fd = socket_address(self.folder)
        except OSError:
            sock.close()
            return None
        try:
            sock.connect(address)
            return sock
        except OSError:
            sock.close()
            return None
        finally:
            if fd is not None:
                os.close(fd)

    def start_early(self) -> None:
        """Start the supervisor in the background when none serves the folder yet, without waiting for it: the
        next :meth:`connect` finds it ready sooner."""
        if self._sock is None and not self._starting() and not (self.folder / "socket").exists():
            self._start()

    def _starting(self) -> bool:
        """Whether a supervisor this client started is still there (starting, or serving)."""
        return self._started is not None and self._started.poll() is None

    def _start(self) -> None:
        if self._started is not None:
            self._started.poll()  # reap an earlier one that ended
        self._close_ready()
        self.folder.mkdir(parents=True, exist_ok=True)
        log = os.open(self.folder / "supervisor.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        ready, told = os.pipe()   # it writes a line there once it listens (or closes it as it ends)
        try:
            self._started = subprocess.Popen([sys.executable, "-m", "cc_local.supervisor", str(self.folder.parent),
                                              "--ready", str(told)],
                                             stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=(told,),
                                             start_new_session=True, close_fds=True)
            self._ready = ready
        except BaseException:
            os.close(ready)
            raise
        finally:
            os.close(log)
            os.close(told)

    def _wait_ready(self, timeout: float) -> None:
        """Wait until the supervisor this client started says it listens (or ended), at most ``timeout`` s;
        without such a supervisor, a short sleep between two looks at the socket."""
        if self._ready is None:
            time.sleep(min(timeout, 0.01))
            return
        readable, _, _ = select.select([self._ready], [], [], timeout)
        if readable:
            self._close_ready()

    def _close_ready(self) -> None:
        ready, self._ready = self._ready, None
        if ready is not None:
            os.close(ready)

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        if self._started is not None:
            self._started.poll()

    @property
    def connected(self) -> bool:
        return self._sock is not None

    # ------------------------------------------------------------------------------------------------- requests
    def request(self, message: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        """Send one request and wait for its answer. Raises :class:`SupervisorGone` when that is impossible."""
        sock, ident = self._send(message, None, None)
        deadline = time.monotonic() + timeout
        with self._answered:
            while ident not in self._answers:
                left = deadline - time.monotonic()
                if left <= 0 or self._sock is not sock:
                    raise SupervisorGone(f"the supervisor of {self.folder.parent} did not answer")
                self._answered.wait(min(left, 0.2))
            return self._answers.pop(ident)

    def send(self, message: dict[str, Any], on_answer: AnswerCallback,
             extra_env: Optional[dict[str, str]] = None) -> None:
        """Send one request without waiting for its answer: ``on_answer`` gets it, on the connection's reader thread
        (or :data:`LOST` when the supervisor goes away first), and must return quickly. Requests are carried out in
        the order they were sent. With ``extra_env`` the request gets an ``env``: what those variables change in
        this process's environment (told to the supervisor again first when it changed since it was last told).
        Raises :class:`SupervisorGone` when the request cannot be sent at all."""
        self._send(message, on_answer, extra_env)

    def _send(self, message: dict[str, Any], on_answer: Optional[AnswerCallback],
              extra_env: Optional[dict[str, str]]) -> tuple[socket.socket, int]:
        with self._lock:
            if self._sock is None:
                self.connect()
            sock = self._sock
            assert sock is not None
            ident = next(self._ids)
            if on_answer is not None:
                with self._answered:
                    self._callbacks[ident] = on_answer
            try:
                if extra_env is not None:
                    if not self._environment_current():
                        self._tell_environment(sock)
                    base = self.environment
                    message = {**message, "env": {k: v for k, v in extra_env.items() if base.get(k) != v}}
                sock.sendall(json.dumps({**message, "id": ident}).encode() + b"\n")
            except OSError as exc:
                with self._answered:
                    self._callbacks.pop(ident, None)
                self._lost(sock)
                raise SupervisorGone(f"the supervisor of {self.folder.parent} went away ({exc})") from None
        return sock, ident

    def _read(self, sock: socket.socket) -> None:
        buffer = b""
        while True:
            try:
                data = sock.recv(1 << 16)
            except OSError:
                data = b""
            if not data:
                self._lost(sock)
                return
            buffer += data
            if b"\n" not in data:
                continue
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if "event" in message:
                    self.on_event(message)
                elif message.get("id"):
                    ident = int(message["id"])
                    with self._answered:
                        callback = self._callbacks.pop(ident, None)
                        if callback is None:
                            self._answers[ident] = message
                            self._answered.notify_all()
                    if callback is not None:
                        callback(message)

    def _lost(self, sock: socket.socket) -> None:
        with self._answered:
            orphaned: list[AnswerCallback] = []
            if self._sock is sock:
                self._sock = None
                orphaned, self._callbacks = list(self._callbacks.values()), {}
            self._answered.notify_all()
        try:
            sock.close()
        except OSError:
            pass
        for callback in orphaned:
            callback({**LOST, "error": f"the supervisor of {self.folder.parent} went away"})
