"""Reading ``wsl.exe --list`` and wsl.exe's messages from the bytes it writes (UTF-16LE)."""

from __future__ import annotations

import codecs

import pytest

from cc_wsl.listing import Distribution, decode_wsl_output, parse_list_quiet, parse_list_verbose

# `wsl.exe --list --quiet` with two distributions, byte for byte: UTF-16LE, no BOM, CR LF.
QUIET = b"U\x00b\x00u\x00n\x00t\x00u\x00\r\x00\n\x00D\x00e\x00b\x00i\x00a\x00n\x00\r\x00\n\x00"
# One row of `wsl.exe --list --verbose`: "* Ubuntu-22.04    Running         2\r\n".
VERBOSE_ROW = (b"*\x00 \x00U\x00b\x00u\x00n\x00t\x00u\x00-\x002\x002\x00.\x000\x004\x00 \x00 \x00 \x00 \x00"
               b"R\x00u\x00n\x00n\x00i\x00n\x00g\x00 \x00 \x00 \x00 \x00 \x00 \x00 \x00 \x00 \x002\x00\r\x00\n\x00")
VERBOSE_TEXT = ("  NAME                   STATE           VERSION\r\n"
                "* Ubuntu-22.04           Running         2\r\n"
                "  Debian                 Stopped         2\r\n"
                "  docker-desktop-data    Stopped         2\r\n"
                "  Legacy                 Installing      1\r\n")
EXPECTED = [Distribution("Ubuntu-22.04", True, "Running", 2), Distribution("Debian", False, "Stopped", 2),
            Distribution("docker-desktop-data", False, "Stopped", 2), Distribution("Legacy", False, "Installing", 1)]


def test_quiet_listing_bytes() -> None:
    assert decode_wsl_output(QUIET) == "Ubuntu\nDebian\n"
    assert parse_list_quiet(decode_wsl_output(QUIET)) == [Distribution("Ubuntu", default=True),
                                                          Distribution("Debian")]


def test_verbose_row_bytes() -> None:
    assert parse_list_verbose(decode_wsl_output(VERBOSE_ROW)) == [Distribution("Ubuntu-22.04", True, "Running", 2)]


@pytest.mark.parametrize("data", [
    VERBOSE_TEXT.encode("utf-16-le"),                                   # as wsl.exe writes it
    codecs.BOM_UTF16_LE + VERBOSE_TEXT.encode("utf-16-le"),             # with a byte-order mark (PowerShell)
    VERBOSE_TEXT.encode("utf-16-le") + b"\x00",                         # an odd NUL at the end
    VERBOSE_TEXT.replace("\r\n", "\x00\r\n").encode("utf-16-le"),       # NUL characters padding the names
    VERBOSE_TEXT.encode("utf-8"),                                       # WSL_UTF8=1
    VERBOSE_TEXT.replace("\r\n", "\n").encode("utf-8"),
], ids=["utf16", "bom", "odd-nul", "nul-padding", "utf8", "utf8-lf"])
def test_verbose_listing_in_every_form(data: bytes) -> None:
    assert parse_list_verbose(decode_wsl_output(data)) == EXPECTED


def test_verbose_header_and_messages_are_not_distributions() -> None:
    text = "  NAME      STATE           VERSION\r\n"
    assert parse_list_verbose(decode_wsl_output(text.encode("utf-16-le"))) == []
    message = ("Windows Subsystem for Linux has no installed distributions.\r\n"
               "Use 'wsl.exe --list --online' to list available distributions\r\n")
    assert parse_list_verbose(decode_wsl_output(message.encode("utf-16-le"))) == []


def test_localised_message_decodes() -> None:
    """wsl.exe's messages follow the Windows language; the error code after them does not."""
    message = "不存在具有提供的名称的分发。\r\n错误代码: Wsl/Service/WSL_E_DISTRO_NOT_FOUND\r\n"
    text = decode_wsl_output(message.encode("utf-16-le"))
    assert "WSL_E_DISTRO_NOT_FOUND" in text and text.startswith("不存在")


def test_linux_output_passes_through() -> None:
    assert decode_wsl_output("ünïcode from Linux\n".encode()) == "ünïcode from Linux\n"
    assert decode_wsl_output(b"") == ""


def test_running_flag() -> None:
    assert EXPECTED[0].running and not EXPECTED[1].running
    assert EXPECTED[0].as_dict() == {"name": "Ubuntu-22.04", "default": True, "state": "Running", "version": 2}
