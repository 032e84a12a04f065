"""The stand-in wsl.exe keeps wsl.exe's grammar: what it accepts, what it refuses and how it prints."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from cc_wsl.listing import decode_wsl_output


def said(result: subprocess.CompletedProcess[bytes]) -> str:
    return decode_wsl_output(result.stdout).strip()


@pytest.mark.parametrize("args, message", [
    (["--bogus"], "Invalid command line argument: --bogus\nPlease use 'wsl.exe --help' to get a list of "
                  "supported arguments."),
    (["-x", "--", "true"], "Invalid command line argument: -x"),
    (["-d"], "Argument --distribution is missing a required parameter."),
    (["--distribution"], "Argument --distribution is missing a required parameter."),
    (["-u"], "Argument --user is missing a required parameter."),
    (["-d", "Fedora", "--", "true"], "There is no distribution with the supplied name.\n"
                                     "Error code: Wsl/Service/WSL_E_DISTRO_NOT_FOUND"),
    (["-d", "Debian", "-d", "Debian", "--", "true"], "The distribution name has already been set."),
    (["--cd", "relative\\dir", "--", "true"], "The parameter is incorrect."),
    (["-u", "no-such-user-here", "--", "true"], "User not found."),
    (["--list", "--bogus"], "Invalid command line argument: --bogus"),
    (["-l", "-q", "-v"], "Usage: wsl.exe [Argument] [Options...] [CommandLine]"),
    (["--shutdown", "--now"], "Invalid command line argument: --now"),
    (["--help"], "Usage: wsl.exe"),
])
def test_refuses_what_wsl_exe_refuses(standin: Any, args: list[str], message: str) -> None:
    result = standin.run(*args)
    assert result.returncode == 255
    assert message in said(result)
    assert b"\x00" in result.stdout  # UTF-16, like wsl.exe


def test_list_verbose_is_utf16_like_wsl_exe(standin: Any) -> None:
    result = standin.run("--list", "--verbose")
    assert result.returncode == 0
    expected = ("  NAME            STATE           VERSION\r\n"
                "* Ubuntu-22.04    Stopped         2\r\n"
                "  Debian          Stopped         2\r\n")
    assert result.stdout == expected.encode("utf-16-le")
    assert standin.run("-l", "-q").stdout == "Ubuntu-22.04\r\nDebian\r\n".encode("utf-16-le")
    assert said(standin.run("-l")) == "Windows Subsystem for Linux Distributions:\nUbuntu-22.04 (Default)\nDebian"


def test_a_distribution_runs_once_used_and_stops_at_shutdown(standin: Any) -> None:
    assert standin.run("-d", "debian", "--", "true").returncode == 0  # names are not case sensitive
    assert "Debian          Running" in said(standin.run("-l", "-v"))
    assert said(standin.run("--list", "--running", "--quiet")) == "Debian"
    assert standin.run("--shutdown").returncode == 0
    assert said(standin.run("--list", "--running")) == "There are no running distributions."
    assert "Default Distribution: Ubuntu-22.04" in said(standin.run("--status"))


def test_double_dash_passes_the_command_line_to_the_shell(standin: Any) -> None:
    """After -- the rest of the Windows command line (list2cmdline) is read by the Linux shell."""
    result = standin.run("--", "echo", "$WSL_DISTRO_NAME", "a  b")
    assert result.returncode == 0
    assert result.stdout.decode() == "Ubuntu-22.04 a  b\n"
    # a word with a $ in it is expanded by the outer shell first: not what was meant
    mangled = standin.run("--", "bash", "-c", "echo $0", "x")
    assert mangled.stdout.decode() != "x\n"
    assert standin.run("-e", "bash", "-c", "echo $0", "x").stdout.decode() == "x\n"


def test_exec_runs_the_words_without_a_shell(standin: Any) -> None:
    result = standin.run("-e", "sh", "-c", 'echo "$0|$1"', "a b", "$HOME")
    assert result.returncode == 0 and result.stdout.decode() == "a b|$HOME\n"


def test_exit_code_and_stdin_pass_through(standin: Any) -> None:
    assert standin.run("--", "exit", "7").returncode == 7
    result = standin.run("--", "bash", "-s", stdin=b"echo from-stdin; exit 3\n")
    assert result.stdout == b"from-stdin\n" and result.returncode == 3


def test_drive_c_is_at_mnt_c_and_cd_takes_both_kinds_of_path(standin: Any) -> None:
    (standin.drive / "Users" / "me").mkdir(parents=True)
    result = standin.run("--cd", "C:\\Users\\me", "--", "pwd")
    assert result.stdout.decode() == "/mnt/c/Users/me\n"
    assert standin.run("--cd", "/mnt/c/Users", "--", "pwd").stdout.decode() == "/mnt/c/Users\n"
    # without --cd the job starts in the Windows current folder, translated
    assert standin.run("--", "pwd", cwd=standin.drive / "Users").stdout.decode() == "/mnt/c/Users\n"
    standin.run("--cd", "C:\\Users\\me", "--", "echo", "written", ">", "note.txt")
    assert (standin.drive / "Users" / "me" / "note.txt").read_text() == "written\n"


def test_the_caller_environment_does_not_leak_in_except_through_wslenv(standin: Any) -> None:
    env = {**standin.env, "SECRET_OF_WINDOWS": "x", "SHARED": "y", "WSLENV": "SHARED"}
    result = subprocess.run([standin.exe, "--", "echo", "${SECRET_OF_WINDOWS:-unset}", "$SHARED"],
                            capture_output=True, env=env, timeout=30)
    assert result.stdout.decode() == "unset y\n"


def test_both_names_are_on_path(standin: Any) -> None:
    import shutil

    assert shutil.which("wsl.exe") and shutil.which("wsl")
    assert standin.run("-l", "-q", exe="wsl").returncode == 0
