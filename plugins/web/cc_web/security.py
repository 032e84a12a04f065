"""The guard in front of every request: host names, the token, cross-site requests and body size.

* Without a token the service only answers requests addressed to a loopback name (``127.0.0.1``, ``localhost``),
  so a web page cannot reach it through DNS rebinding.
* With a token, every request and event stream must carry it: ``Authorization: Bearer TOKEN``, ``?token=TOKEN``
  (for ``EventSource`` and for opening the GUI), or the ``cc_token`` cookie the service sets when the GUI is
  opened with ``?token=``. The cookie is ``SameSite=Strict``, so other sites cannot use it.
* A request that changes something and comes from a page of another origin (its ``Origin`` header names another
  host) is refused, so a web page cannot make the browser post to the service.
* Request bodies are limited (1 MiB by default); a larger one is answered with 413 without being read.
"""

from __future__ import annotations

import hmac
import json
from http.cookies import SimpleCookie
from typing import Any, Awaitable, Callable, Iterable, MutableMapping, Optional
from urllib.parse import parse_qs, urlsplit

from starlette.exceptions import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")
COOKIE = "cc_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_BODY = 1 << 20


def is_loopback(host: str) -> bool:
    return host.strip("[]") in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class Guard:
    """ASGI middleware applying the rules above; ``token=None`` means loopback-only without a token."""

    def __init__(self, app: ASGIApp, token: Optional[str] = None, max_body: int = MAX_BODY,
                 allowed_hosts: Optional[Iterable[str]] = None) -> None:
        self.app = app
        self.token = token or None
        self.max_body = max_body
        if allowed_hosts is not None:
            self.allowed_hosts: Optional[frozenset[str]] = frozenset(allowed_hosts)
        else:
            self.allowed_hosts = None if self.token else frozenset(LOOPBACK_NAMES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        if self.allowed_hosts is not None and "*" not in self.allowed_hosts:
            name = urlsplit("//" + host).hostname or ""
            if name not in self.allowed_hosts and f"[{name}]" not in self.allowed_hosts:
                await _refuse(send, 421, "HostNotAllowed",
                              f"this service answers only requests to {', '.join(sorted(self.allowed_hosts))}",
                              "start 'ccw serve --host NAME --token TOKEN' to serve other names")
                return
        from_query = False
        if self.token is not None:
            presented, from_query = _presented_token(scope, headers)
            if presented is None or not hmac.compare_digest(presented.encode(), self.token.encode()):
                await _refuse(send, 401, "Unauthorized", "this service needs its token",
                              "send 'Authorization: Bearer TOKEN', or open the page with '?token=TOKEN'",
                              extra=[(b"www-authenticate", b"Bearer")])
                return
        method = scope.get("method", "GET")
        origin = headers.get("origin")
        if method not in SAFE_METHODS and origin and origin != "null":
            if urlsplit(origin).netloc.lower() != host.lower():
                await _refuse(send, 403, "CrossOriginRefused", f"requests from pages of {origin} are refused",
                              "use the GUI served by this service, or a client that sends no Origin header")
                return
        length = headers.get("content-length")
        if length is not None:
            try:
                too_large = int(length) > self.max_body
            except ValueError:
                too_large = True
            if too_large:
                await _refuse(send, 413, "PayloadTooLarge", f"the request body is larger than {self.max_body} "
                              "bytes", "split the upload or ask for a larger limit (ccw serve --max-body)")
                return
        receive = self._limited(receive)
        if from_query:
            send = self._with_cookie(send)
        await self.app(scope, receive, send)

    def _limited(self, receive: Receive) -> Receive:
        seen = 0
        limit = self.max_body

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message
        return limited

    def _with_cookie(self, send: Send) -> Send:
        cookie = f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict".encode("latin-1")

        async def with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + [(b"set-cookie", cookie)]
            await send(message)
        return with_cookie


def _presented_token(scope: Scope, headers: dict[str, str]) -> tuple[Optional[str], bool]:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip(), False
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if query.get("token"):
        return query["token"][0], True
    if "cookie" in headers:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(headers["cookie"])
        except Exception:  # a malformed cookie header is no token
            return None, False
        if COOKIE in jar:
            return jar[COOKIE].value, False
    return None, False


async def _refuse(send: Send, status: int, error: str, message: str, hint: str,
                  extra: Optional[list[tuple[bytes, bytes]]] = None) -> None:
    body = json.dumps({"error": error, "message": message, "hint": hint, "problems": []}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})
