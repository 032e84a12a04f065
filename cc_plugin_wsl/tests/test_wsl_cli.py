"""The wsl.exe command line cc builds, finding wsl.exe, and the errors a user sees."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from cc_core.errors import JobTypeError
from cc_wsl.cli import (WslResult, check_shell_words, find_wsl, list_distributions, login_shell, run_wsl,
                        windows_command_line, wsl_argv, wsl_error)
from cc_wsl.listing import Distribution
from cc_wsl.wrapper import start_words


@pytest.mark.parametrize("options, expected", [
    ({}, ["wsl.exe", "--", "bash", "-lc", "bash .attempt1.wsl.sh"]),
    ({"distribution": "Ubuntu-22.04"}, ["wsl.exe", "-d", "Ubuntu-22.04", "--", "bash", "-lc", "bash .attempt1.wsl.sh"]),
    ({"distribution": "Debian", "user": "ana", "cd": "/mnt/c/Users/Ana Lima/run/job"},
     ["wsl.exe", "-d", "Debian", "-u", "ana", "--cd", "/mnt/c/Users/Ana Lima/run/job", "--", "bash", "-lc",
      "bash .attempt1.wsl.sh"]),
    ({"user": "root"}, ["wsl.exe", "-u", "root", "--", "bash", "-lc", "bash .attempt1.wsl.sh"]),
])
def test_job_start_command_line(options: dict[str, Any], expected: list[str]) -> None:
    assert wsl_argv("wsl.exe", command=login_shell(start_words(1)), **options) == expected


def test_command_line_as_windows_passes_it() -> None:
    argv = wsl_argv("wsl.exe", distribution="Ubuntu", user="me", cd="/mnt/c/Users/Ana Lima/job",
                    command=login_shell(start_words(2)))
    assert windows_command_line(argv) == ('wsl.exe -d Ubuntu -u me --cd "/mnt/c/Users/Ana Lima/job" -- '
                                          'bash -lc "bash .attempt2.wsl.sh"')


def test_no_user_folder_is_written_into_the_command_line() -> None:
    argv = wsl_argv("wsl.exe", distribution="Ubuntu", command=["bash", "-s"])
    assert argv == ["wsl.exe", "-d", "Ubuntu", "--", "bash", "-s"]
    assert not any("home" in word or "Users" in word for word in argv)


@pytest.mark.parametrize("word", ["echo $HOME", 'say "hi"', "a\\b", "x; rm -rf /", "`id`", "a|b", "it's"])
def test_words_that_would_change_on_the_way_are_refused(word: str) -> None:
    with pytest.raises(ValueError, match="unchanged"):
        check_shell_words([word])
    with pytest.raises(ValueError):
        wsl_argv("wsl.exe", command=["bash", "-lc", word])
    # -e runs the words without a shell: anything goes
    assert wsl_argv("wsl.exe", command=["bash", "-c", word], exec_mode=True)[-1] == word


def test_find_wsl_order(tmp_path: Path) -> None:
    on_path = {"wsl.exe": "/win/wsl.exe", "wsl": "/usr/bin/wsl"}
    assert find_wsl(env={}, which=on_path.get) == "/win/wsl.exe"
    assert find_wsl(env={}, which={"wsl": "/usr/bin/wsl"}.get) == "/usr/bin/wsl"
    program = tmp_path / "my-wsl.exe"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    assert find_wsl(env={"CC_WSL_EXE": str(program)}, which=lambda name: None) == str(program)
    assert find_wsl(str(program), env={"CC_WSL_EXE": "/nope"}, which=lambda name: None) == str(program)


def test_find_wsl_seen_from_a_32_bit_python_on_windows(tmp_path: Path) -> None:
    (tmp_path / "Sysnative").mkdir()
    (tmp_path / "Sysnative" / "wsl.exe").write_bytes(b"MZ")
    found = find_wsl(env={"SystemRoot": str(tmp_path)}, which=lambda name: None, platform="win32")
    assert found == os.path.join(str(tmp_path), "Sysnative", "wsl.exe")
    with pytest.raises(JobTypeError, match="WSL is not installed"):
        find_wsl(env={"SystemRoot": str(tmp_path / "none")}, which=lambda name: None, platform="win32")


def test_wsl_missing_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(JobTypeError) as caught:
        find_wsl(env={}, which=lambda name: None)
    assert "WSL is not installed" in caught.value.message and "wsl --install" in (caught.value.hint or "")
    with pytest.raises(JobTypeError) as caught:
        find_wsl(env={"CC_WSL_EXE": str(tmp_path / "absent.exe")}, which=lambda name: None)
    assert "CC_WSL_EXE" in caught.value.message and "absent.exe" in caught.value.message


def _result(text: str, code: int = 255) -> WslResult:
    return WslResult(["wsl.exe"], code, text.replace("\n", "\r\n").encode("utf-16-le"), b"")


def test_error_for_a_missing_distribution_names_it_and_lists_the_installed() -> None:
    result = _result("There is no distribution with the supplied name.\nError code: Wsl/Service/"
                     "WSL_E_DISTRO_NOT_FOUND\n")
    assert result.wsl_failed
    error = wsl_error(result, distribution="Ubuntu-24.04", job="prepare",
                      installed=lambda: [Distribution("Ubuntu-22.04", True), Distribution("Debian")])
    assert error.message == ("job 'prepare': the WSL distribution 'Ubuntu-24.04' is not installed "
                             "(installed: Ubuntu-22.04, Debian)")
    assert "distribution:" in (error.hint or "")


@pytest.mark.parametrize("text, words", [
    ("User not found.\nError code: Wsl/Service/WSL_E_USER_NOT_FOUND", "user 'ana' does not exist"),
    ("Windows Subsystem for Linux has no installed distributions.", "no installed distributions"),
    ("Invalid command line argument: --bogus\nPlease use 'wsl.exe --help' to get a list of supported arguments.",
     "Invalid command line argument: --bogus"),
])
def test_other_wsl_failures(text: str, words: str) -> None:
    error = wsl_error(_result(text), distribution="Debian", user="ana")
    assert words in error.message


def test_a_distribution_without_bash() -> None:
    result = WslResult(["wsl.exe"], 127, b"", b"/bin/sh: bash: not found\n")
    error = wsl_error(result, distribution="Alpine", job="j")
    assert error.message == "job 'j': bash is not installed in WSL distribution 'Alpine'"
    assert "apk add bash" in (error.hint or "")


def test_a_linux_exit_code_is_not_a_wsl_failure() -> None:
    assert not WslResult(["wsl.exe"], 255, b"my program failed\n", b"").wsl_failed
    assert not _result("There is no distribution with the supplied name.", code=0).wsl_failed


def test_list_and_errors_through_the_standin(standin: Any) -> None:
    assert list_distributions(standin.exe) == [Distribution("Ubuntu-22.04", True, "Stopped", 2),
                                               Distribution("Debian", False, "Stopped", 2)]
    result = run_wsl(wsl_argv(standin.exe, distribution="Fedora", command=["true"]))
    assert result.returncode == 255 and result.wsl_failed
    error = wsl_error(result, distribution="Fedora", installed=lambda: list_distributions(standin.exe))
    assert "'Fedora' is not installed (installed: Ubuntu-22.04, Debian)" in error.message


def test_no_distributions_installed(standin: Any, tmp_path: Path) -> None:
    import json

    config = json.loads(standin.config.read_text())
    config["distributions"] = []
    standin.config.write_text(json.dumps(config))
    assert list_distributions(standin.exe) == []


def test_run_wsl_reports_a_hang(tmp_path: Path) -> None:
    slow = tmp_path / "slow-wsl"
    slow.write_text("#!/bin/sh\nexec sleep 30\n")
    slow.chmod(0o755)
    with pytest.raises(JobTypeError, match="did not answer within 0.3 s"):
        run_wsl([str(slow)], timeout=0.3)
    with pytest.raises(JobTypeError, match="cannot be found"):
        run_wsl([str(tmp_path / "gone.exe")])
