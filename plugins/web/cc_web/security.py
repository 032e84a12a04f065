"""The guard in front of every request: host names, the token, cross-site requests and body size.

* Without a token the service only answers requests addressed to a loopback name (``127.0.0.1``, ``localhost``),
  so a web page cannot reach it through DNS rebinding.
* With a token, every request and event stream must carry it: ``Authorization: Bearer TOKEN``, ``?token=TOKEN``
  (for ``EventSource`` and for opening the GUI), or the ``cc_token`` cookie the service sets when the GUI is
  opened with ``?token=``. The cookie is ``SameSite=Strict``, so other sites cannot use it.
* A request that changes something and comes from a page of another origin is refused, so a web page cannot make
  the browser post to the service: its ``Origin`` header must name the host the request is addressed to (its own
  ``Host`` header, so the GUI works behind an ``ssh -L`` tunnel on any port); ``Origin: null`` (sandboxed frames,
  ``file:`` pages, some redirects) and a browser's ``Sec-Fetch-Site: cross-site`` without an ``Origin`` are refused.
* A browser asking for a page without the token gets a small page to enter it instead of JSON.
* Request bodies are limited (1 MiB by default); a larger one is answered with 413 without being read.
"""

from __future__ import annotations

import hmac
import json
from http.cookies import SimpleCookie
from typing import Any, Awaitable, Callable, Iterable, MutableMapping, Optional
from urllib.parse import parse_qs, urlsplit

from starlette.exceptions import HTTPException

from cc_core.errors import CCError

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
        check_token(token)
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
                if _wants_page(scope, headers):
                    await _token_page(send, wrong=presented is not None)
                    return
                await _refuse(send, 401, "Unauthorized", "this service needs its token",
                              "send 'Authorization: Bearer TOKEN', or open the page with '?token=TOKEN'",
                              extra=[(b"www-authenticate", b"Bearer")])
                return
        method = scope.get("method", "GET")
        if method not in SAFE_METHODS and not same_origin(headers):
            origin = headers.get("origin") or "another site"
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


class BlankTokenError(CCError):
    """A token of only blanks (or empty) was given: it would protect nothing."""


def check_token(token: Optional[str]) -> None:
    if token is not None and not token.strip():
        raise BlankTokenError("the token is empty or only blanks: it would let anyone in",
                              hint="pass a real secret, e.g. --token \"$(openssl rand -hex 16)\", or no --token "
                                   "at all on 127.0.0.1")


def same_origin(headers: dict[str, str]) -> bool:
    """Whether a request comes from a page of this service (or from no page at all: curl, scripts)."""
    origin = headers.get("origin")
    if origin is None:
        return headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")
    if origin.strip().lower() == "null":
        return False
    parts = urlsplit(origin.strip())
    host = headers.get("host", "").strip().lower()
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc.lower() == host


def _wants_page(scope: Scope, headers: dict[str, str]) -> bool:
    """A browser opening a page (not the API, not a script): it gets the token page instead of JSON."""
    path = scope.get("path", "")
    return (scope.get("method") in ("GET", "HEAD") and not path.startswith("/api/")
            and "text/html" in headers.get("accept", ""))


TOKEN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>cc: token needed</title>
<style>body{font-family:system-ui,sans-serif;background:#f6f7f9;color:#1d2330;display:flex;justify-content:center;
margin-top:12vh}form{background:#fff;border:1px solid #dfe3ea;border-radius:8px;padding:24px 28px;width:380px}
h1{font-size:18px;margin:0 0 8px}p{color:#6b7385;font-size:13px}input{width:100%;padding:6px;font:inherit;
margin:8px 0}button{background:#2f6fde;color:#fff;border:0;border-radius:5px;padding:6px 14px;font:inherit}
.wrong{color:#d64545}</style></head>
<body><form method="get" action="/" id="token-form"><h1>This cc service needs its token</h1>
<p>It was printed by <code>ccw serve</code> (or set in <code>CC_TOKEN</code>) on the machine it runs on.</p>
WRONG<label>Token <input type="password" name="token" id="token" autocomplete="current-password" required
autofocus></label><button type="submit">Open</button></form></body></html>
"""


async def _token_page(send: Send, wrong: bool) -> None:
    note = '<p class="wrong">That token is not the right one.</p>' if wrong else ""
    body = TOKEN_PAGE.replace("WRONG", note).encode()
    headers = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode()),
               (b"www-authenticate", b"Bearer"), (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": body})


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
