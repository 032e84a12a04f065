"""Line ends of files that go to Linux hosts.

Files cc writes for a Linux host (a SLURM batch script, a wrapper) are written as bytes with ``\\n`` line ends,
whatever this machine's own are: Windows' ``\\r\\n`` makes ``sbatch`` refuse a script ("DOS line breaks") and bash
read ``\\r`` as part of each command. A user's own script with ``\\r\\n`` line ends (as Git for Windows checks files
out unless told otherwise) is sent as it is, with a warning that names it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

log = logging.getLogger(__name__)
_SNIFF = 1 << 16
_warned: set[tuple[str, str, str]] = set()


def write_for_linux(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` as UTF-8 with ``\\n`` line ends (never translated to this machine's)."""
    path.write_bytes(text.replace("\r\n", "\n").encode("utf-8"))


def has_windows_line_ends(path: Path) -> bool:
    """Whether the file's first 64 KiB hold a ``\\r\\n`` line end (an unreadable file says no)."""
    try:
        with open(path, "rb") as handle:
            return b"\r\n" in handle.read(_SNIFF)
    except OSError:
        return False


def warn_windows_line_ends(path: Path, job: str, host: str, shown_as: Optional[str] = None) -> Optional[str]:
    """Warn (once per process for a file, job and host) when a script sent to Linux host ``host`` has Windows
    line ends; the warning, or ``None``."""
    if path.suffix.lower() == ".ipynb" or not has_windows_line_ends(path):
        return None
    name = shown_as or str(path)
    message = (f"warning: job '{job}': script {name} has Windows line ends (CRLF); it is sent to the Linux host "
               f"'{host}' as it is, where the shell reads the '\\r' as part of each line. Convert it "
               f"(`dos2unix {name}`, or in your editor), and have Git keep it so: '*.sh text eol=lf' in "
               ".gitattributes")
    key = (str(path), job, host)
    if key not in _warned:
        _warned.add(key)
        log.warning("%s", message)
    return message
