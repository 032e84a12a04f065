"""The supervisor's socket: where it is, how to reach it, and the connections it serves.

Each connection carries JSON lines: a request (with an ``id``) gets one answer line (with the same ``id``); events
go to every connection. See :mod:`cc_local.supervisor` for the requests.
"""

from __future__ import annotations

import json
import os
import selectors
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

FOLDER = ".cc-supervisor"
Answer = Callable[[dict[str, Any], "Connection"], dict[str, Any]]


def supervisor_folder(run_folder: Path) -> Path:
    return Path(run_folder) / FOLDER


def socket_address(folder: Path) -> tuple[str, Optional[int]]:
    """An address for ``bind``/``connect`` of the socket in ``folder``, short enough for ``AF_UNIX`` (108 bytes):
    a long path is reached through ``/proc/self/fd`` of the folder. The second value is that folder's descriptor,
    to be closed once the socket is bound or connected."""
    path = str(folder / "socket")
    if len(path.encode()) < 100:
        return path, None
    fd = os.open(folder, os.O_PATH | os.O_DIRECTORY)
    return f"/proc/self/fd/{fd}/socket", fd


@dataclass
class Connection:
    sock: socket.socket
    buffer: bytes = b""
    environment: dict[str, str] = field(default_factory=dict)
    """What the client said its environment is (``{"op": "environment"}``): the base of its requests' ``env``."""


class Connections:
    """The listening socket and every connected client, served from the supervisor's one selector."""

    def __init__(self, folder: Path, selector: selectors.BaseSelector, answer: Answer) -> None:
        self.folder = folder
        self.selector = selector
        self.answer = answer
        self.clients: dict[int, Connection] = {}
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)

    def listen(self) -> None:
        try:
            os.unlink(self.folder / "socket")
        except FileNotFoundError:
            pass
        address, fd = socket_address(self.folder)
        try:
            self.listener.bind(address)
        finally:
            if fd is not None:
                os.close(fd)
        self.listener.listen(64)
        self.selector.register(self.listener, selectors.EVENT_READ, self)

    def __bool__(self) -> bool:
        return bool(self.clients)

    def ready(self, key: selectors.SelectorKey) -> None:
        """The selector says ``key`` (the listener or a client) can be read."""
        if key.fileobj is self.listener:
            self._accept()
        else:
            self._read(key.fd)

    def _accept(self) -> None:
        try:
            sock, _ = self.listener.accept()
        except OSError:
            return
        sock.settimeout(5.0)
        self.clients[sock.fileno()] = Connection(sock)
        self.selector.register(sock, selectors.EVENT_READ, self)

    def _drop(self, fd: int) -> None:
        client = self.clients.pop(fd, None)
        if client is not None:
            self.selector.unregister(client.sock)
            client.sock.close()

    def _read(self, fd: int) -> None:
        client = self.clients.get(fd)
        if client is None:
            return
        try:
            data = client.sock.recv(1 << 16)
        except OSError:
            data = b""
        if not data:
            self._drop(fd)
            return
        client.buffer += data
        if b"\n" not in data:
            return
        *lines, client.buffer = client.buffer.split(b"\n")
        for line in lines:
            request: Any = {}
            try:
                request = json.loads(line)
                answer = self.answer(request, client)
            except Exception as exc:  # noqa: BLE001 - a bad request is answered, never the supervisor's end
                answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            answer["id"] = request.get("id") if isinstance(request, dict) else None
            self.send(fd, answer)

    def send(self, fd: int, message: dict[str, Any]) -> None:
        client = self.clients.get(fd)
        if client is None:
            return
        try:
            client.sock.sendall(json.dumps(message).encode() + b"\n")
        except OSError:
            self._drop(fd)

    def broadcast(self, message: dict[str, Any]) -> None:
        for fd in list(self.clients):
            self.send(fd, message)

    def close(self) -> None:
        for fd in list(self.clients):
            self._drop(fd)
        self.listener.close()
        try:
            os.unlink(self.folder / "socket")
        except OSError:
            pass
