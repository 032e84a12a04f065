"""Windows paths and the paths a WSL distribution sees, translated both ways with ``wslpath``'s rules.

* A drive path becomes a path under the automount root: ``C:\\Users\\me\\x`` ↔ ``/mnt/c/Users/me/x`` (the drive
  letter is lower case on the Linux side and upper case on the Windows side; ``/`` and ``\\`` both separate).
* A path into a distribution's own files, ``\\\\wsl$\\Ubuntu\\home\\me`` or ``\\\\wsl.localhost\\Ubuntu\\home\\me``,
  is ``/home/me`` inside that distribution (and only there).
* A Linux path (``/home/me``, ``~/data``) stays as it is; a relative path keeps being relative.
* Anything else (a network share ``\\\\server\\share``, ``C:file`` relative to a drive's current folder) cannot be
  translated: :class:`PathTranslationError` says why.

These are pure functions on strings, so they behave the same on every platform.
"""

from __future__ import annotations

import re
from typing import Optional

DEFAULT_AUTOMOUNT_ROOT = "/mnt/"
WSL_SHARE_HOSTS = ("wsl.localhost", "wsl$")
_DRIVE = re.compile(r"^([A-Za-z]):(.*)$", re.S)
_SEPARATORS = re.compile(r"[\\/]+")


class PathTranslationError(ValueError):
    """A path that has no counterpart on the other side."""


def _mount_prefix(automount_root: str) -> str:
    root = automount_root if automount_root.startswith("/") else "/" + automount_root
    return root.rstrip("/") + "/"


def is_windows_path(path: str) -> bool:
    """``True`` for a drive path (``C:\\x``, ``c:/x``) or a UNC path (``\\\\server\\share``, ``//server/share``)."""
    return bool(_DRIVE.match(path)) or path.startswith(("\\\\", "//"))


def windows_to_wsl(path: str, *, distribution: Optional[str] = None,
                   automount_root: str = DEFAULT_AUTOMOUNT_ROOT) -> str:
    """The path ``path`` has inside WSL, as ``wslpath -u`` gives it.

    :param distribution: the distribution the path is used in; a ``\\\\wsl$\\OTHER\\...`` path into another
        distribution is then an error. ``None`` accepts any distribution's share.
    :param automount_root: where Windows drives are mounted (``automount.root`` of ``/etc/wsl.conf``).
    """
    if not path:
        raise PathTranslationError("an empty path cannot be translated")
    text = _strip_long_path_prefix(path)
    if text.startswith(("\\\\", "//")):
        return _share_to_wsl(path, text, distribution)
    if text.startswith(("/", "~")):
        return text  # already a Linux path
    drive = _DRIVE.match(text)
    if drive:
        letter, rest = drive.groups()
        if rest and rest[0] not in "\\/":
            raise PathTranslationError(
                f"'{path}' is relative to the current folder of drive {letter.upper()}:, which WSL does not know; "
                f"write it as {letter.upper()}:\\{rest}")
        tail = _SEPARATORS.sub("/", rest)
        return _mount_prefix(automount_root) + letter.lower() + tail
    if text.startswith("\\"):
        raise PathTranslationError(f"'{path}' starts at the root of the current drive; give the drive "
                                   f"(e.g. C:{text})")
    return _SEPARATORS.sub("/", text)


def _strip_long_path_prefix(path: str) -> str:
    """``\\\\?\\C:\\x`` → ``C:\\x`` and ``\\\\?\\UNC\\server\\share`` → ``\\\\server\\share``."""
    for prefix in ("\\\\?\\", "\\\\.\\", "//?/", "//./"):
        if path.startswith(prefix):
            rest = path[len(prefix):]
            if rest[:4].upper() in ("UNC\\", "UNC/"):
                return "\\\\" + rest[4:]
            return rest
    return path


def _share_to_wsl(original: str, text: str, distribution: Optional[str]) -> str:
    parts = _SEPARATORS.split(text.lstrip("\\/"))
    host = parts[0]
    if host.lower() not in WSL_SHARE_HOSTS:
        raise PathTranslationError(
            f"'{original}' is on the network share \\\\{host}, which has no path inside WSL; "
            "copy the files to a drive (C:\\...) or into the distribution")
    if len(parts) < 2 or not parts[1]:
        raise PathTranslationError(f"'{original}' names no distribution (\\\\{host}\\DISTRIBUTION\\...)")
    name = parts[1]
    if distribution is not None and name.lower() != distribution.lower():
        raise PathTranslationError(
            f"'{original}' is inside the distribution '{name}', not '{distribution}' where the job runs")
    return "/" + "/".join(parts[2:])


def wsl_to_windows(path: str, *, distribution: Optional[str] = None,
                   automount_root: str = DEFAULT_AUTOMOUNT_ROOT, share_host: str = "wsl.localhost") -> str:
    """The Windows path of the WSL path ``path``, as ``wslpath -w`` gives it.

    A path under the automount root becomes a drive path (``/mnt/c/x`` → ``C:\\x``); any other absolute path is
    reached through the distribution's share (``/home/me`` → ``\\\\wsl.localhost\\Ubuntu\\home\\me``), which needs
    ``distribution``. A relative path stays relative.
    """
    if not path:
        raise PathTranslationError("an empty path cannot be translated")
    if is_windows_path(path):
        return path
    if path.startswith("~"):
        raise PathTranslationError(f"'{path}' is relative to a Linux home folder; give the full path")
    if not path.startswith("/"):
        return path.replace("/", "\\")
    prefix = _mount_prefix(automount_root)
    if path.startswith(prefix) or path + "/" == prefix:
        rest = path[len(prefix):]
        drive = re.match(r"^([A-Za-z])(/.*)?$", rest, re.S)
        if drive:
            letter, tail = drive.groups()
            tail = re.sub(r"/+", "/", tail or "/")
            return letter.upper() + ":" + tail.replace("/", "\\")
    if distribution is None:
        raise PathTranslationError(f"'{path}' is inside a distribution; say which one to translate it")
    return f"\\\\{share_host}\\{distribution}" + re.sub(r"/+", "/", path).replace("/", "\\")
