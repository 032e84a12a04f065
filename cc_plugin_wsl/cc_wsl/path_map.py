"""Where a job's files are, seen from the machine running cc (the *host*) and from inside the distribution.

On Windows a host path is a Windows path and :mod:`cc_wsl.paths` translates it. Anywhere else there is no Windows
side, so a folder of the host can be made to stand for drive ``C:`` (``drive_root``): a host path under it is first
written as the Windows path it stands for (``<drive_root>/runs/x`` → ``C:\\runs\\x``) and then translated like on
Windows (→ ``/mnt/c/runs/x``). That is how the translation is exercised on Linux, against a stand-in ``wsl``
that shows ``drive_root`` at ``/mnt/c``. Without either, host paths are Linux paths already and stay as they are.
"""

from __future__ import annotations

import ntpath
import sys
from pathlib import Path, PurePath
from typing import Optional, Union

from cc_wsl.paths import (DEFAULT_AUTOMOUNT_ROOT, PathTranslationError, is_windows_path, windows_to_wsl,
                          wsl_to_windows)

HostPath = Union[str, PurePath]


class PathMap:
    """Translates host paths to the paths one distribution sees, and back."""

    def __init__(self, *, distribution: Optional[str] = None, automount_root: str = DEFAULT_AUTOMOUNT_ROOT,
                 drive_root: Optional[Union[str, Path]] = None, platform: str = sys.platform) -> None:
        self.distribution = distribution
        self.automount_root = automount_root
        self.drive_root = Path(drive_root).resolve() if drive_root else None
        self.windows = platform == "win32" and self.drive_root is None

    def for_distribution(self, distribution: Optional[str], automount_root: Optional[str] = None) -> "PathMap":
        other = PathMap(distribution=distribution, automount_root=automount_root or self.automount_root)
        other.drive_root, other.windows = self.drive_root, self.windows
        return other

    def is_host_path(self, text: str) -> bool:
        """Is ``text`` an absolute path of the host (rather than a path that only exists inside WSL)?"""
        if self.windows:
            return is_windows_path(text)
        if self.drive_root is not None:
            return _is_under(Path(text), self.drive_root) if text.startswith("/") else is_windows_path(text)
        return False

    def as_windows(self, host_path: HostPath) -> str:
        """The Windows path a host path is (or stands for, under ``drive_root``)."""
        text = str(host_path)
        if self.drive_root is None or is_windows_path(text):
            return text
        path = Path(text)
        if not _is_under(path, self.drive_root):
            raise PathTranslationError(f"{path} is outside {self.drive_root}, the folder standing for drive C:")
        relative = path.resolve().relative_to(self.drive_root)
        return "C:\\" + "\\".join(relative.parts)

    def to_wsl(self, host_path: HostPath) -> str:
        """The path the distribution sees for ``host_path``."""
        text = str(host_path)
        if self.drive_root is not None and text.startswith("/"):
            text = self.as_windows(text)
        return windows_to_wsl(text, distribution=self.distribution, automount_root=self.automount_root)

    def to_host(self, wsl_path: str) -> str:
        """The host path of a path inside the distribution."""
        if not self.windows and self.drive_root is None:
            return wsl_path
        windows = wsl_to_windows(wsl_path, distribution=self.distribution, automount_root=self.automount_root)
        if self.drive_root is None:
            return windows
        drive, rest = ntpath.splitdrive(windows)
        if drive.upper() != "C:":
            raise PathTranslationError(f"{wsl_path} is not on drive C:, so it has no folder on this machine")
        parts = [p for p in rest.split("\\") if p]
        return str(self.drive_root.joinpath(*parts))


def _is_under(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
    except ValueError:
        return False
    return True
