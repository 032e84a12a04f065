"""Command lines for ``cmd.exe``, built by its own rules (Windows gives a program one string, not a list).

Two layers read such a line. ``cmd.exe`` reads it first: outside double quotes ``& | < > ( ) ^`` are its own, and
``%NAME%`` is expanded everywhere. Then the program splits what it gets into arguments by the C runtime's rules
(``CommandLineToArgvW``): blanks separate arguments unless quoted, ``\\"`` is a literal quote, and backslashes are
literal except before a quote. So each argument is first quoted for the program, then every character that
``cmd.exe`` would act on is escaped with ``^`` (a quote too, so that cmd never thinks it is inside a string; a ``%``
too, so that ``%NAME%`` in an argument stays as written). Python's ``subprocess.list2cmdline`` does only the first
step, which is why its ``\\"`` quoting breaks lines that cmd.exe runs.
"""

from __future__ import annotations

from typing import Sequence

_CMD_SPECIAL = frozenset('()%!^"<>&|')


def quote_argument(arg: str) -> str:
    """``arg`` as one argument for a program's C runtime (CommandLineToArgvW), quoted only when it needs it."""
    if arg and not any(c in arg for c in ' \t\n\v"'):
        return arg
    out = ['"']
    backslashes = 0
    for char in arg:
        if char == "\\":
            backslashes += 1
            continue
        if char == '"':
            out.append("\\" * (2 * backslashes + 1) + '"')
        else:
            out.append("\\" * backslashes + char)
        backslashes = 0
    out.append("\\" * (2 * backslashes) + '"')
    return "".join(out)


def escape_for_cmd(text: str) -> str:
    """``text`` with every character that cmd.exe acts on escaped, so cmd passes it on unchanged."""
    # '^%' too: cmd expands %NAME% before it drops carets, and a name that ends in '^' is never defined
    return "".join("^" + char if char in _CMD_SPECIAL else char for char in text)


def program_line(argv: Sequence[str]) -> str:
    """A cmd.exe command that starts ``argv[0]`` with exactly the arguments ``argv[1:]``."""
    return " ".join(escape_for_cmd(quote_argument(arg)) for arg in argv)


def command_in_own_shell(command: str) -> str:
    """A ``command:`` job (cmd syntax) run by a cmd.exe of its own, so that an ``exit /b 3`` in it ends only that
    shell and the wrapper still records the code. Escaped whole, the outer cmd hands it on untouched."""
    return "cmd.exe /d /s /c " + escape_for_cmd(f'"{command}"')


def wrapped_body(command: str, exit_file_variable: str = "CC_EXIT_FILE") -> str:
    """What ``cmd.exe /c`` runs for a job: ``command`` (cmd syntax), then its exit code written into the file the
    environment variable names. The redirection comes first, because ``echo 0>file`` would redirect handle 0
    instead of writing "0"; ``call`` expands ``%ERRORLEVEL%`` after the command ran."""
    return f'{command} & >"%{exit_file_variable}%" call echo %^ERRORLEVEL%'


def wrapped_line(command: str, exit_file_variable: str = "CC_EXIT_FILE") -> str:
    """The whole command line of a job on Windows (``/s``: cmd drops the outer quotes and keeps the rest as is)."""
    return f'cmd.exe /d /s /c "{wrapped_body(command, exit_file_variable)}"'
