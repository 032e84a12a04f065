"""``ccw serve``: run the REST service and the GUI with uvicorn.

Every ``ccw`` command loads the plugins, and so this module: it imports the web stack (starlette, the request
guard) only when ``ccw serve`` is configured or run, so that ``ccw run`` does not pay for it."""

from __future__ import annotations

import argparse
import os
import sys

from cc_core.plugins.commands import Command
from cc_core.errors import CCError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


class UnsafeBindError(CCError):
    """Serving on a non-loopback address without a token."""


def configure(parser: argparse.ArgumentParser) -> None:
    from cc_web.security import MAX_BODY

    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}; any other needs --token)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--token", default=None,
                        help="token every request must carry (default: $CC_TOKEN); required off loopback")
    parser.add_argument("--max-body", type=int, default=MAX_BODY,
                        help=f"largest request body in bytes (default {MAX_BODY})")


def check_bind(host: str, token: str | None) -> None:
    from cc_web.security import is_loopback

    if not is_loopback(host) and not token:
        raise UnsafeBindError(f"refusing to serve on {host} without a token: anyone who can reach it could run "
                              "commands on this machine",
                              hint="pass --token SECRET (or set CC_TOKEN), or keep the default --host 127.0.0.1")


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from cc_web.app import create_app
    from cc_web.security import check_token

    token = args.token if args.token is not None else (os.environ.get("CC_TOKEN") or None)
    try:
        check_token(token)
        check_bind(args.host, token)
    except CCError as exc:
        print(f"ccw serve: {exc}", file=sys.stderr)
        return exc.exit_code
    allowed = None if token else ["127.0.0.1", "localhost", "::1", args.host]
    app = create_app(token=token, max_body=args.max_body, allowed_hosts=allowed)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    suffix = f"/?token={token}" if token else "/"
    print(f"cc is serving http://{shown}:{args.port}{suffix}  (API docs: /docs; Ctrl-C stops)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


SERVE = Command(name="serve", help="serve the REST API and the browser GUI", configure=configure, run=run)
