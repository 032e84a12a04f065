"""Rules for job and workflow names: each one becomes a folder (``runs/<run>/<job>/``), so a name must be a folder
name on every system a workflow may run on, and two names must never be the same folder.

Windows refuses its device names (``CON``, ``NUL``, ``COM1``, ... in any case, with or without an extension) and
drops trailing dots; Windows and macOS do not tell ``Fetch`` from ``fetch``. These are refused on every platform,
so that a workflow that validates here runs the same everywhere.
"""

from __future__ import annotations

import re
from typing import Iterable, Optional

NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
_DEVICE = re.compile(r"(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?", re.IGNORECASE)


def name_problem(name: str, what: str = "job") -> Optional[str]:
    """Why ``name`` cannot be a job (or workflow) name, or ``None`` when it can."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        shown = repr(name) if isinstance(name, str) and not name.isprintable() else f"'{name}'"
        return f"{shown} is not a {what} name: use letters, digits, '_', '-' and '.'"
    if name.endswith("."):
        return f"'{name}' is not a {what} name: it may not end with '.' (Windows drops trailing dots)"
    if _DEVICE.fullmatch(name):
        return (f"'{name}' is not a {what} name: Windows reserves it for a device (CON, PRN, AUX, NUL, COM1-9, "
                "LPT1-9, also with an extension and in any case)")
    return None


def case_clashes(names: Iterable[str]) -> list[tuple[str, str]]:
    """Pairs ``(name, earlier)`` of names that differ from an earlier one only in upper/lower case."""
    seen: dict[str, str] = {}
    clashes: list[tuple[str, str]] = []
    for name in names:
        key = name.casefold()
        earlier = seen.get(key)
        if earlier is not None and earlier != name:
            clashes.append((name, earlier))
        else:
            seen.setdefault(key, name)
    return clashes
