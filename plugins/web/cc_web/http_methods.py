"""HEAD, OPTIONS and 405 as HTTP says, for every route of the app.

* ``HEAD`` is answered wherever ``GET`` is: the GET handler runs and its headers are sent without the body (an
  event stream's headers are sent at once and the stream is not followed).
* ``OPTIONS`` answers 204 with ``Allow`` naming every method any route of that path takes.
* A method no route of the path takes is 405 with that same ``Allow`` (not just the first route's methods).
"""

from __future__ import annotations

import json
import re
from typing import Any, Awaitable, Callable, Iterable, MutableMapping

from starlette.routing import BaseRoute, Match, Mount

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Routes = Callable[[], Iterable[BaseRoute]]


class _HeadAnswered(Exception):
    """The headers of a HEAD answer are sent; the rest of the GET handler's output is not wanted."""


METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_PARAM = re.compile(r"\{[^}/]+\}")


class DocumentedPaths:
    """The paths of the OpenAPI document as patterns; where several match (``/api/workflows/upload`` and
    ``/api/workflows/{name}``), the one with the fewest parameters is the resource the request names."""

    def __init__(self, paths: dict[str, dict[str, Any]]) -> None:
        self.patterns: list[tuple[re.Pattern[str], int, set[str]]] = []
        for template, operations in paths.items():
            literal = [re.escape(piece) for piece in _PARAM.split(template)]
            regex = "[^/]+".join(literal)
            methods = {m.upper() for m in operations if m.upper() in METHODS}
            self.patterns.append((re.compile(f"^{regex}$"), len(_PARAM.findall(template)), methods))

    def methods(self, path: str) -> set[str]:
        matching = [(params, methods) for regex, params, methods in self.patterns if regex.match(path)]
        if not matching:
            return set()
        fewest = min(params for params, _ in matching)
        return set().union(*(methods for params, methods in matching if params == fewest))


def with_head_and_options(found: set[str]) -> set[str]:
    if "GET" in found:
        found.add("HEAD")
    if found:
        found.add("OPTIONS")
    return found


def allowed_methods(routes: Iterable[BaseRoute], scope: Scope) -> set[str]:
    """Every method a route matching the path of ``scope`` takes (empty when no route has that path). Each route
    is asked whether it fully matches the path with each method, so included routers count like plain routes."""
    found: set[str] = set()
    for route in routes:
        if isinstance(route, Mount):
            if route.matches({**scope, "method": "GET"})[0] != Match.NONE:
                found.add("GET")
            continue
        for method in METHODS:
            if method not in found and route.matches({**scope, "method": method})[0] == Match.FULL:
                found.add(method)
    return with_head_and_options(found)


class HttpMethods:
    """ASGI middleware; ``routes`` gives the app's routes when asked (they are complete only once it is built)."""

    def __init__(self, app: ASGIApp, routes: Routes, openapi: Callable[[], dict[str, Any]]) -> None:
        self.app = app
        self.routes = routes
        self.openapi = openapi
        self._documented: DocumentedPaths | None = None

    def allowed(self, scope: Scope) -> set[str]:
        if self._documented is None:
            self._documented = DocumentedPaths(self.openapi().get("paths") or {})
        documented = self._documented.methods(scope.get("path", ""))
        if documented:
            return with_head_and_options(documented)
        return allowed_methods(self.routes(), scope)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        if method == "OPTIONS":
            allowed = self.allowed(scope)
            if allowed:
                await send({"type": "http.response.start", "status": 204,
                            "headers": [(b"allow", _allow(allowed)), (b"content-length", b"0")]})
                await send({"type": "http.response.body", "body": b""})
                return
        # Other requests go straight through: the path's methods are only worked out for a 405.
        send = self._full_allow(scope, send)
        if method == "HEAD":
            await self._head(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _full_allow(self, scope: Scope, send: Send) -> Send:
        """Answer a 405 with every method of the path in ``Allow`` (the router names only its first route's)."""
        replaced = False

        async def sending(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] == 405:
                replaced = True
                allowed = self.allowed(scope)
                method = scope.get("method", "GET")
                body = json.dumps({"error": "MethodNotAllowed", "message": f"{method} is not allowed on "
                                   f"{scope.get('path', '')}", "hint": f"this path takes {_allow(allowed).decode()}",
                                   "problems": []}).encode()
                await send({"type": "http.response.start", "status": 405,
                            "headers": [(b"allow", _allow(allowed)), (b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body if method != "HEAD" else b""})
                return
            if replaced:
                return
            await send(message)
        return sending

    async def _head(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def headers_only(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                await send(message)
                return
            if message["type"] == "http.response.body":
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                raise _HeadAnswered()
            await send(message)

        try:
            await self.app({**scope, "method": "GET"}, receive, headers_only)
        except Exception as exc:  # a streaming response raises it from within its task group
            if not (started and _only_head_answered(exc)):
                raise


def _allow(methods: set[str]) -> bytes:
    return ", ".join(sorted(methods)).encode()


def _only_head_answered(exc: BaseException) -> bool:
    inner = getattr(exc, "exceptions", None)
    if inner is not None:
        return all(_only_head_answered(e) for e in inner)
    return isinstance(exc, _HeadAnswered)
