"""Reading what ``wsl.exe`` prints: its own messages and ``--list`` come as UTF-16LE.

``wsl.exe`` writes through the C runtime in UTF-16 mode (``_O_U16TEXT``): no byte-order mark, every character two
bytes (so ASCII text shows a NUL after each letter when read as bytes), lines ending in ``\\r\\n``. With
``WSL_UTF8=1`` in its environment it writes UTF-8 instead, and what a Linux program prints is passed through as the
program wrote it (UTF-8). :func:`decode_wsl_output` reads all of these.

``wsl.exe --list --verbose`` prints a header and one line per distribution, the default one marked ``*``::

      NAME            STATE           VERSION
    * Ubuntu-22.04    Running         2
      Debian          Stopped         2

``wsl.exe --list --quiet`` prints only the names, one per line.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Distribution:
    """An installed WSL distribution."""

    name: str
    default: bool = False
    state: Optional[str] = None    # Running, Stopped, Installing, ... (only --verbose tells)
    version: Optional[int] = None  # 1 or 2 (only --verbose tells)

    @property
    def running(self) -> bool:
        return (self.state or "").lower() == "running"

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "default": self.default, "state": self.state, "version": self.version}


def decode_wsl_output(data: bytes) -> str:
    """Text from bytes ``wsl.exe`` wrote: UTF-16LE (with or without BOM) or UTF-8, newlines made ``\\n``."""
    if data.startswith(codecs.BOM_UTF16_LE):
        text = _utf16(data[2:])
    elif data.startswith(codecs.BOM_UTF8):
        text = data[3:].decode("utf-8", "replace")
    elif b"\x00" in data:
        # Linux programs do not print NULs; wsl.exe's UTF-16 has one in every ASCII character.
        text = _utf16(data)
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _utf16(data)
    text = text.replace("\ufeff", "").replace("\x00", "")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _utf16(data: bytes) -> str:
    if len(data) % 2:
        data = data[:-1] if data.endswith(b"\x00") else data + b"\x00"
    return data.decode("utf-16-le", "replace")


def parse_list_verbose(text: str) -> list[Distribution]:
    """The distributions in the text of ``wsl.exe --list --verbose`` (decoded)."""
    found: list[Distribution] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        default = stripped.startswith("*")
        fields = stripped.lstrip("*").split()
        if len(fields) < 3 or not fields[-1].isdigit():
            continue  # the header (NAME STATE VERSION) or a message
        state = " ".join(fields[1:-1])
        found.append(Distribution(fields[0], default, state, int(fields[-1])))
    return found


def parse_list_quiet(text: str) -> list[Distribution]:
    """The distributions in the text of ``wsl.exe --list --quiet`` (decoded); the first is the default."""
    names = [line.strip() for line in text.splitlines() if line.strip()]
    return [Distribution(name, default=(i == 0)) for i, name in enumerate(names)]
