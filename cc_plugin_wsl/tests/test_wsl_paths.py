"""Path translation between Windows and WSL, table by table (wslpath's rules)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytest

from cc_wsl.path_map import PathMap
from cc_wsl.paths import PathTranslationError, is_windows_path, windows_to_wsl, wsl_to_windows

TO_WSL: list[tuple[str, Optional[str], str]] = [
    # (Windows path, distribution, WSL path)
    (r"C:\Users\me\x", None, "/mnt/c/Users/me/x"),
    (r"c:\Users\me\x", None, "/mnt/c/Users/me/x"),
    (r"D:\data\run 1\in.csv", None, "/mnt/d/data/run 1/in.csv"),
    ("C:/Users/me/x", None, "/mnt/c/Users/me/x"),
    (r"C:\Users/me\x", None, "/mnt/c/Users/me/x"),
    (r"C:\Users\\me", None, "/mnt/c/Users/me"),
    ("C:\\", None, "/mnt/c/"),
    ("C:", None, "/mnt/c"),
    ("C:\\Users\\", None, "/mnt/c/Users/"),
    (r"C:\Users\Zoë\données", None, "/mnt/c/Users/Zoë/données"),
    (r"\\?\C:\very\long\path", None, "/mnt/c/very/long/path"),
    (r"\\wsl$\Ubuntu\home\me", "Ubuntu", "/home/me"),
    (r"\\wsl.localhost\Ubuntu\home\me", "Ubuntu", "/home/me"),
    (r"\\WSL.LOCALHOST\ubuntu\home\me", "Ubuntu", "/home/me"),
    ("\\\\wsl$\\Ubuntu-22.04\\home\\me\\", None, "/home/me/"),
    ("//wsl.localhost/Ubuntu/srv/data", "Ubuntu", "/srv/data"),
    (r"\\wsl$\Ubuntu", "Ubuntu", "/"),
    (r"\\?\UNC\wsl$\Ubuntu\tmp", "Ubuntu", "/tmp"),
    ("/home/me/x", None, "/home/me/x"),
    ("/mnt/c/already", "Ubuntu", "/mnt/c/already"),
    ("~/data/x.csv", None, "~/data/x.csv"),
    (r"scripts\step1.sh", None, "scripts/step1.sh"),
    ("scripts/step1.sh", None, "scripts/step1.sh"),
    (r"..\data\in.csv", None, "../data/in.csv"),
    ("run.py", None, "run.py"),
]

TO_WSL_FAILS: list[tuple[str, Optional[str], str]] = [
    # (Windows path, distribution, words the error must hold)
    (r"\\fileserver\share\data", None, "network share"),
    ("//fileserver/share/data", None, "network share"),
    (r"\\wsl$\Debian\home\me", "Ubuntu", "'Debian'"),
    ("\\\\wsl$\\", None, "names no distribution"),
    ("C:data", None, "current folder of drive C:"),
    (r"\Users\me", None, "root of the current drive"),
    ("", None, "empty"),
]

TO_WINDOWS: list[tuple[str, Optional[str], str]] = [
    # (WSL path, distribution, Windows path)
    ("/mnt/c/Users/me/x", None, r"C:\Users\me\x"),
    ("/mnt/d/data/run 1/in.csv", None, r"D:\data\run 1\in.csv"),
    ("/mnt/c", None, "C:\\"),
    ("/mnt/c/", None, "C:\\"),
    ("/mnt/c//Users", None, r"C:\Users"),
    ("/home/me", "Ubuntu", r"\\wsl.localhost\Ubuntu\home\me"),
    ("/", "Ubuntu", "\\\\wsl.localhost\\Ubuntu\\"),
    ("/mnt", "Ubuntu", r"\\wsl.localhost\Ubuntu\mnt"),
    ("/mnt/cd/x", "Ubuntu", r"\\wsl.localhost\Ubuntu\mnt\cd\x"),
    ("scripts/step1.sh", None, r"scripts\step1.sh"),
    (r"C:\already", None, r"C:\already"),
]


@pytest.mark.parametrize("windows, distribution, linux", TO_WSL)
def test_windows_to_wsl(windows: str, distribution: Optional[str], linux: str) -> None:
    assert windows_to_wsl(windows, distribution=distribution) == linux


@pytest.mark.parametrize("windows, distribution, words", TO_WSL_FAILS)
def test_windows_paths_that_cannot_be_translated(windows: str, distribution: Optional[str], words: str) -> None:
    with pytest.raises(PathTranslationError) as caught:
        windows_to_wsl(windows, distribution=distribution)
    assert words in str(caught.value)


@pytest.mark.parametrize("linux, distribution, windows", TO_WINDOWS)
def test_wsl_to_windows(linux: str, distribution: Optional[str], windows: str) -> None:
    assert wsl_to_windows(linux, distribution=distribution) == windows


@pytest.mark.parametrize("linux, words", [("/home/me", "say which one"), ("~/x", "home folder"),
                                          ("", "empty")])
def test_wsl_paths_that_cannot_be_translated(linux: str, words: str) -> None:
    with pytest.raises(PathTranslationError) as caught:
        wsl_to_windows(linux)
    assert words in str(caught.value)


@pytest.mark.parametrize("windows", [r"C:\Users\me\x", r"D:\a b\c", r"\\wsl.localhost\Ubuntu\home\me\notes.txt",
                                     "C:\\"])
def test_there_and_back(windows: str) -> None:
    assert wsl_to_windows(windows_to_wsl(windows, distribution="Ubuntu"), distribution="Ubuntu") == windows


@pytest.mark.parametrize("windows, linux", [(r"C:\Users\me", "/c/Users/me"), ("D:/x", "/d/x")])
def test_automount_root_of_wsl_conf(windows: str, linux: str) -> None:
    """``[automount] root = /`` in /etc/wsl.conf mounts drives at /c, /d, ..."""
    assert windows_to_wsl(windows, automount_root="/") == linux
    assert wsl_to_windows(linux, automount_root="/") == windows.replace("/", "\\")


@pytest.mark.parametrize("text, expected", [(r"C:\x", True), ("c:/x", True), (r"\\server\share", True),
                                            ("//server/share", True), ("/home/me", False), ("x/y", False)])
def test_is_windows_path(text: str, expected: bool) -> None:
    assert is_windows_path(text) is expected


def test_drive_root_stands_for_drive_c(tmp_path: Path) -> None:
    """Where there is no Windows, a folder stands for C: and host paths go through the Windows translation."""
    drive = tmp_path / "C"
    (drive / "Users" / "me").mkdir(parents=True)
    paths = PathMap(drive_root=drive, distribution="Ubuntu")
    assert paths.as_windows(drive / "Users" / "me" / "x.sh") == r"C:\Users\me\x.sh"
    assert paths.to_wsl(drive / "Users" / "me" / "x.sh") == "/mnt/c/Users/me/x.sh"
    assert paths.to_wsl(str(drive)) == "/mnt/c/"
    assert paths.to_host("/mnt/c/Users/me/x.sh") == str(drive / "Users" / "me" / "x.sh")
    assert paths.is_host_path(str(drive / "Users")) and not paths.is_host_path("/usr/bin")
    with pytest.raises(PathTranslationError, match="outside"):
        paths.to_wsl(tmp_path / "elsewhere" / "x")
    with pytest.raises(PathTranslationError, match="not on drive C:"):
        paths.to_host("/home/me")


def test_windows_host_translates_windows_paths() -> None:
    paths = PathMap(distribution="Ubuntu", platform="win32")
    assert paths.to_wsl(r"C:\Users\me\run\job") == "/mnt/c/Users/me/run/job"
    assert paths.to_host("/home/me/data") == r"\\wsl.localhost\Ubuntu\home\me\data"
    assert paths.is_host_path(r"C:\x") and not paths.is_host_path("/opt/x.sh")


def test_linux_host_without_drive_root_keeps_paths() -> None:
    paths = PathMap(platform="linux")
    assert paths.to_wsl("/tmp/run/job") == "/tmp/run/job"
    assert paths.to_host("/tmp/run/job") == "/tmp/run/job"
