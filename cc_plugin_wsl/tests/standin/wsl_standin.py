"""A stand-in for Windows' wsl.exe on Linux, for the tests of cc's ``wsl`` job type (standard library only).

It follows wsl.exe's command-line grammar (src/windows/common/WslClient.cpp of microsoft/WSL): the options
-d/--distribution, -u/--user, --cd, --shell-type, -e/--exec, --, -l/--list (--all --running -q/--quiet
-v/--verbose -o/--online), --status, --shutdown [--force], -t/--terminate, --help, -v/--version. It refuses what
wsl.exe refuses with wsl.exe's English message, printed like wsl.exe prints it (UTF-16LE on standard output, lines
ending in CR LF) and exit code 255 (wsl.exe's -1 seen as one byte).

A command runs the way wsl.exe runs it: after ``--`` (or without either marker) the rest of the command line, as
Windows would have passed it (subprocess.list2cmdline), goes to the user's shell with ``-c``; after ``-e`` the words
are run directly. It runs with a Linux environment of its own (nothing of the caller's environment but the names
WSLENV lists), in a mount namespace where ``/mnt/<letter>`` shows the folder configured for that drive. All its
processes carry WSL_STANDIN_INSTANCE, so --shutdown and --terminate can end them as WSL would.

It is started by the launcher ``wsl`` (also reached as ``wsl.exe``) next to it, with the Python named in
WSL_STANDIN_PYTHON, and configured by the JSON file named in WSL_STANDIN_CONFIG::

    {"distributions": [{"name": "Ubuntu-22.04", "version": 2, "default": true}, {"name": "Debian"}],
     "drives": {"c": "/tmp/x/C"}, "state_dir": "/tmp/x/state", "instance": "token",
     "path": "/usr/local/bin:/usr/bin:/bin"}
"""

from __future__ import annotations

import json
import os
import pwd
import shlex
import signal
import subprocess
import sys
from typing import NoReturn, Optional

FAIL = 255  # wsl.exe exits with -1 when it fails itself
USAGE = """Copyright (c) Microsoft Corporation. All rights reserved.
For privacy information about this product please visit https://aka.ms/privacy.

Usage: wsl.exe [Argument] [Options...] [CommandLine]

Arguments for running Linux binaries:

    If no command line is provided, wsl.exe launches the default shell.

    --exec, -e <CommandLine>
        Execute the specified command without using the default Linux shell.

    --shell-type <standard|login|none>
        Execute the specified command with the provided shell type.

    --
        Pass the remaining command line as-is.

Options:
    --cd <Directory>
        Sets the specified directory as the current working directory.
        If ~ is used the Linux user's home path will be used. If the path begins
        with a / character, it will be interpreted as an absolute Linux path.
        Otherwise, the value must be an absolute Windows path.

    --distribution, -d <DistroName>
        Run the specified distribution.

    --user, -u <UserName>
        Run as the specified user.
"""
NO_DISTRIBUTIONS = ("Windows Subsystem for Linux has no installed distributions.\n"
                    "You can resolve this by installing a distribution with the instructions below:\n\n"
                    "Use 'wsl.exe --list --online' to list available distributions\n"
                    "and 'wsl.exe --install <Distro>' to install.")
NOT_FOUND = "There is no distribution with the supplied name.\nError code: Wsl/Service/WSL_E_DISTRO_NOT_FOUND"
INVALID_ARG = "The parameter is incorrect. \nError code: Wsl/E_INVALIDARG"


def say(text: str) -> None:
    """Print like wsl.exe: UTF-16LE, no byte-order mark, CR LF line ends."""
    if not text.endswith("\n"):
        text += "\n"
    sys.stdout.buffer.write(text.replace("\n", "\r\n").encode("utf-16-le"))
    sys.stdout.buffer.flush()


def fail(text: str) -> NoReturn:
    say(text)
    sys.exit(FAIL)


def invalid_argument(argument: str) -> NoReturn:
    fail(f"Invalid command line argument: {argument}\nPlease use 'wsl.exe --help' to get a list of supported "
         "arguments.")


def missing_parameter(option: str) -> NoReturn:
    fail(f"Argument {option} is missing a required parameter.")


class Config:
    def __init__(self) -> None:
        path = os.environ.get("WSL_STANDIN_CONFIG")
        if not path:
            print("wsl stand-in: WSL_STANDIN_CONFIG is not set", file=sys.stderr)
            sys.exit(1)
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        self.distributions: list[dict] = data.get("distributions", [])
        self.drives: dict[str, str] = {k.lower(): v for k, v in data.get("drives", {}).items()}
        self.state_dir: str = data["state_dir"]
        self.instance: str = data["instance"]
        self.path: str = data.get("path", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        os.makedirs(os.path.join(self.state_dir, "running"), exist_ok=True)

    def find(self, name: str) -> Optional[dict]:
        for distribution in self.distributions:
            if distribution["name"].lower() == name.lower():
                return distribution
        return None

    def default(self) -> Optional[dict]:
        for distribution in self.distributions:
            if distribution.get("default"):
                return distribution
        return self.distributions[0] if self.distributions else None

    def ordered(self) -> list[dict]:
        default = self.default()
        return sorted(self.distributions, key=lambda d: d is not default)

    def running(self, name: str) -> bool:
        return os.path.exists(os.path.join(self.state_dir, "running", name))

    def set_running(self, name: str, running: bool) -> None:
        marker = os.path.join(self.state_dir, "running", name)
        if running:
            open(marker, "w").close()
        elif os.path.exists(marker):
            os.unlink(marker)


# ------------------------------------------------------------------------------------------------ management
def list_command(config: Config, args: list[str]) -> int:
    flags = {"all": False, "running": False, "quiet": False, "verbose": False, "online": False}
    names = {"--all": "all", "--running": "running", "--quiet": "quiet", "-q": "quiet", "--verbose": "verbose",
             "-v": "verbose", "--online": "online", "-o": "online"}
    for argument in args:
        if argument not in names:
            invalid_argument(argument)
        flags[names[argument]] = True
    if (flags["quiet"] and flags["verbose"]) or (flags["all"] and flags["running"]) or \
            ((flags["verbose"] or flags["all"]) and flags["online"]):
        fail(USAGE)
    if flags["online"]:
        say("The following is a list of valid distributions that can be installed.\n"
            "Install using 'wsl.exe --install <Distro>'.\n\nNAME            FRIENDLY NAME\n"
            "Ubuntu          Ubuntu\nDebian          Debian GNU/Linux")
        return 0
    entries = config.ordered()
    if flags["running"]:
        entries = [d for d in entries if config.running(d["name"])]
        if not flags["quiet"] and not entries:
            fail("There are no running distributions.")
    default = config.default()
    if flags["verbose"]:
        if not entries:
            fail(NO_DISTRIBUTIONS)
        width = max([len("NAME")] + [len(d["name"]) for d in entries]) + 4
        lines = ["  " + "NAME".ljust(width) + "STATE".ljust(16) + "VERSION"]
        for d in entries:
            state = "Running" if config.running(d["name"]) else "Stopped"
            mark = "*" if d is default else " "
            lines.append(f"{mark} " + d["name"].ljust(width) + state.ljust(16) + str(d.get("version", 2)))
        say("\n".join(lines))
        return 0
    if flags["quiet"]:
        if entries:
            say("\n".join(d["name"] for d in entries))
        return 0
    if not entries:
        fail(NO_DISTRIBUTIONS)
    lines = ["Windows Subsystem for Linux Distributions:"]
    lines += [f"{d['name']} (Default)" if d is default else d["name"] for d in entries]
    say("\n".join(lines))
    return 0


def instance_processes(config: Config, distribution: Optional[str] = None) -> list[int]:
    """Pids of the processes started by this stand-in (in ``distribution``, or in any)."""
    token = f"WSL_STANDIN_INSTANCE={config.instance}".encode()
    name = f"WSL_DISTRO_NAME={distribution}".encode() if distribution else None
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                environ = handle.read().split(b"\0")
        except OSError:
            continue
        if token in environ and (name is None or name in environ):
            found.append(int(entry))
    return found


def end_processes(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def shutdown(config: Config, args: list[str]) -> int:
    for argument in args:
        if argument != "--force":
            invalid_argument(argument)
    end_processes(instance_processes(config))
    for d in config.distributions:
        config.set_running(d["name"], False)
    return 0


def terminate(config: Config, args: list[str]) -> int:
    if not args or not args[0]:
        missing_parameter("--terminate")
    distribution = config.find(args[0])
    if distribution is None:
        fail(NOT_FOUND)
    end_processes(instance_processes(config, distribution["name"]))
    config.set_running(distribution["name"], False)
    say("The operation completed successfully. ")
    return 0


def status(config: Config) -> int:
    default = config.default()
    lines = []
    if default is not None:
        lines.append(f"Default Distribution: {default['name']}")
    lines.append("Default Version: 2")
    say("\n".join(lines))
    return 0


# ------------------------------------------------------------------------------------------------ running
def windows_to_linux(config: Config, path: str) -> Optional[str]:
    """``C:\\x\\y`` → ``/mnt/c/x/y`` (the stand-in's own translation, kept apart from cc's)."""
    if len(path) >= 3 and path[1] == ":" and path[2] in "\\/" and path[0].isalpha():
        return "/mnt/" + path[0].lower() + "/" + path[3:].replace("\\", "/")
    return None


def host_to_linux(config: Config, path: str) -> Optional[str]:
    """A folder of this machine as the distribution sees it (under /mnt/<letter>), if it is on a drive."""
    for letter, root in config.drives.items():
        root = os.path.realpath(root)
        real = os.path.realpath(path)
        if real == root or real.startswith(root + os.sep):
            return "/mnt/" + letter + real[len(root):]
    return None


def linux_environment(config: Config, distribution: str, user: pwd.struct_passwd) -> dict[str, str]:
    env = {"HOME": user.pw_dir, "USER": user.pw_name, "LOGNAME": user.pw_name,
           "SHELL": user.pw_shell or "/bin/bash", "PATH": config.path, "LANG": "C.UTF-8",
           "WSL_DISTRO_NAME": distribution, "NAME": os.uname().nodename,
           "WSL_STANDIN_INSTANCE": config.instance}
    wslenv = os.environ.get("WSLENV", "")
    if wslenv:
        env["WSLENV"] = wslenv
    for item in filter(None, wslenv.split(":")):
        name, _, flags = item.partition("/")
        if name in os.environ:
            value = os.environ[name]
            if "p" in flags:
                value = windows_to_linux(config, value) or value
            env[name] = value
    return env


def run(config: Config, distribution: Optional[str], user_name: Optional[str], cwd: Optional[str],
        rest: list[str], exec_mode: bool, login: Optional[bool]) -> NoReturn:
    if distribution is None:
        default = config.default()
        if default is None:
            fail(NO_DISTRIBUTIONS)
        distribution = default["name"]
    if exec_mode and not rest:
        fail(INVALID_ARG)
    try:
        user = pwd.getpwnam(user_name) if user_name else pwd.getpwuid(os.getuid())
    except KeyError:
        fail("User not found.\nError code: Wsl/Service/WSL_E_USER_NOT_FOUND")
    if user.pw_uid != os.getuid() and os.geteuid() != 0:
        fail("User not found.\nError code: Wsl/Service/WSL_E_USER_NOT_FOUND")
    env = linux_environment(config, distribution, user)
    shell = user.pw_shell if user.pw_shell and os.path.exists(user.pw_shell) else "/bin/bash"
    if exec_mode:
        command = rest
    elif not rest:
        command = [shell, "-l"]
    else:
        # wsl.exe gives the shell the rest of its Windows command line, as Windows received it.
        command = [shell] + (["-l"] if login else []) + ["-c", subprocess.list2cmdline(rest)]
    if cwd is None:
        here = host_to_linux(config, os.getcwd())
        cwd = here if here is not None else "~"
    if cwd == "~" or cwd.startswith("~/"):
        cwd = user.pw_dir + cwd[1:]
    config.set_running(distribution, True)
    # /mnt/<letter> shows the drive's folder, in a mount namespace of this command's own.
    setup = ["set -e", "mount -t tmpfs cc-wsl-standin /mnt"]
    for letter, root in sorted(config.drives.items()):
        setup.append(f"mkdir -p /mnt/{letter}")
        setup.append(f"mount --bind {shlex.quote(root)} /mnt/{letter}")
    setup.append("set +e")
    setup.append(f'cd {shlex.quote(cwd)} 2>/dev/null || cd "$HOME" 2>/dev/null || cd /')
    unshare = ["unshare", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        # Mounting needs root in a user namespace of its own; a second one makes the command its user again.
        unshare.insert(1, "--map-root-user")
        setup.append(f'exec unshare --map-user={os.getuid()} --map-group={os.getgid()} -- "$@"')
    elif user.pw_uid != os.getuid():
        setup.append("exec runuser -u " + shlex.quote(user.pw_name) + ' -- "$@"')
    else:
        setup.append('exec "$@"')
    argv = [*unshare, "--", "/bin/sh", "-c", "\n".join(setup), "sh", *command]
    try:
        os.execvpe(argv[0], argv, env)
    except OSError as exc:
        print(f"wsl stand-in: cannot start unshare: {exc}", file=sys.stderr)
        sys.exit(1)


def main(args: list[str]) -> int:
    config = Config()
    distribution: Optional[str] = None
    user: Optional[str] = None
    cwd: Optional[str] = None
    login: Optional[bool] = None
    exec_mode = False
    rest: list[str] = []
    i = 0
    while i < len(args):
        argument = args[i]
        value = args[i + 1] if i + 1 < len(args) else ""
        if argument in ("-d", "--distribution"):
            if distribution is not None:
                fail("The distribution name has already been set.")
            if not value:
                missing_parameter("--distribution")
            found = config.find(value)
            if found is None:
                fail(NOT_FOUND)
            distribution = found["name"]
            i += 2
        elif argument in ("-u", "--user"):
            if not value:
                missing_parameter("--user")
            user = value
            i += 2
        elif argument == "--cd":
            if not value:
                fail(INVALID_ARG)
            if value.startswith(("/", "~")):
                cwd = value
            else:
                cwd = windows_to_linux(config, value)
                if cwd is None:
                    fail(INVALID_ARG)
            i += 2
        elif argument == "--shell-type":
            if not value:
                missing_parameter("--shell-type")
            if value not in ("standard", "login", "none"):
                fail(INVALID_ARG)
            exec_mode = value == "none"
            login = value == "login"
            i += 2
        elif argument == "--":
            rest = args[i + 1:]
            break
        elif argument in ("-e", "--exec"):
            rest = args[i + 1:]
            exec_mode = True
            break
        elif argument in ("-l", "--list"):
            return list_command(config, args[i + 1:])
        elif argument == "--status":
            return status(config)
        elif argument == "--shutdown":
            return shutdown(config, args[i + 1:])
        elif argument in ("-t", "--terminate"):
            return terminate(config, args[i + 1:])
        elif argument == "--help":
            say(USAGE)
            return FAIL
        elif argument in ("-v", "--version"):
            say("WSL version: 2.0.0.0 (stand-in)\nKernel version: " + os.uname().release)
            return 0
        elif argument.startswith("-"):
            invalid_argument(argument)
        else:
            rest = args[i:]
            break
    run(config, distribution, user, cwd, rest, exec_mode, login)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
