"""The remote job folder: made before a job starts, then the job is launched detached in it.

Each attempt has a folder of its own, ``<remote_root>/<run id>/<job>/<attempt>`` (``remote_root`` is
``~/.cc/runs`` unless the ssh option says otherwise). Making it is one remote command; launching is another, and
both can be sent again safely: an attempt that was launched already is found, not started twice (``cc.owner``
names the cc run an attempt belongs to, so a folder in use by a different run is never wiped).
"""

from __future__ import annotations

import posixpath
import shlex
import uuid
from dataclasses import dataclass
from typing import Optional, Sequence

from cc_ssh.staging import InlineFile
from cc_ssh.transfer import shell_path
from cc_ssh.wrapper import EXIT_CODE, LAUNCHED, OWNER, PID, WRAPPER

START_WAIT_STEPS = 116  # 20 x 0.01 s, then 0.05 s each: how long a launch waits for the wrapper to write its pid


def folder_of(remote_root: str, run_id: int, job: str, attempt: int) -> str:
    """The attempt's folder as the user would write it (may start with ``~/``)."""
    return posixpath.join(remote_root.rstrip("/") or "/", str(run_id), job, str(attempt))


@dataclass(frozen=True)
class Prepared:
    """What making the folder found: the folder (absolute), and whether the attempt runs there already."""

    folder: str
    launched_pid: Optional[int] = None   # this very attempt was launched before (a retried submit)
    busy_pid: Optional[int] = None       # a different run's job still runs in the folder
    busy_owner: str = ""


def prepare_script(folder: str, owner: str, wrapper_text: str, subfolders: list[str],
                   files: Sequence[InlineFile] = ()) -> str:
    """``sh`` that (re)makes ``folder`` with ``cc-job.sh``, ``cc.owner`` and the small ``files`` in it, unless the
    attempt was launched there already or another run's job still runs there. Prints
    ``cc-ready|cc-launched|cc-busy ...``."""
    marker = f"CC_FILE_{uuid.uuid4().hex}"
    made = "".join(f' "$D"/{shlex.quote(sub)}' for sub in subfolders)
    writes: list[str] = []
    for file in files:
        target = f'"$D"/{shlex.quote(file.name)}'
        writes += [f"cat >{target} <<'{marker}' || exit 1", file.text[:-1], marker]
        if file.executable:
            writes.append(f"chmod +x {target}")
    return "\n".join([
        f"D={shell_path(folder)}",
        f"O={shlex.quote(owner)}",
        f'if [ -d "$D/{LAUNCHED}" ]; then',
        f'  o=$(cat "$D/{OWNER}" 2>/dev/null)',
        '  if [ "$o" = "$O" ]; then',
        f'    echo "cc-launched $(cat "$D/{PID}" 2>/dev/null || echo 0) $(cd "$D" && pwd)"; exit 0',
        "  fi",
        f'  if [ ! -f "$D/{EXIT_CODE}" ] && p=$(cat "$D/{PID}" 2>/dev/null) && kill -0 "$p" 2>/dev/null; then',
        '    echo "cc-busy $p $o"; exit 0',
        "  fi",
        "fi",
        f'rm -rf "$D" && mkdir -p "$D"{made} || exit 1',
        f'printf \'%s\\n\' "$O" >"$D/{OWNER}" || exit 1',
        f"cat >\"$D/{WRAPPER}\" <<'{marker}' || exit 1",
        wrapper_text.rstrip("\n"),
        marker,
        *writes,
        'D=$(cd "$D" && pwd) || exit 1',
        'echo "cc-ready $D"',
        "",
    ])


def parse_prepare(stdout: str) -> Optional[Prepared]:
    for line in stdout.splitlines():
        word, _, rest = line.partition(" ")
        if word == "cc-ready" and rest:
            return Prepared(rest)
        if word == "cc-launched":
            pid, _, folder = rest.partition(" ")
            return Prepared(folder, launched_pid=_int(pid))
        if word == "cc-busy":
            pid, _, owner = rest.partition(" ")
            return Prepared("", busy_pid=_int(pid), busy_owner=owner)
    return None


def launch_script(folder: Optional[str], log_name: str) -> str:
    """``sh`` that starts ``cc-job.sh`` in ``folder`` (absolute; ``None``: the ``$D`` a :func:`prepare_script`
    before it set) detached, once, and prints ``cc-pid N`` when the wrapper has written its pid, or ``cc-no-pid``
    and the log's last lines when it did not within 5 s."""
    return "\n".join([
        f"D={shlex.quote(folder)}" if folder is not None else ": the folder was made above",
        'cd "$D" || exit 3',
        f'if mkdir "$D/{LAUNCHED}" 2>/dev/null; then',
        "  if command -v setsid >/dev/null 2>&1; then",
        f'    setsid nohup sh "$D/{WRAPPER}" >/dev/null 2>&1 </dev/null &',
        "  else",
        f'    nohup sh "$D/{WRAPPER}" >/dev/null 2>&1 </dev/null &',
        "  fi",
        "fi",
        "i=0",
        "# the pid is the wrapper's first write: look often at first (a submission waits for it)",
        f'while [ ! -s "$D/{PID}" ] && [ $i -lt {START_WAIT_STEPS} ]; do s=0.05; [ $i -lt 20 ] && s=0.01; '
        'sleep $s 2>/dev/null || sleep 1; i=$((i+1)); done',
        f'if [ -s "$D/{PID}" ]; then echo "cc-pid $(cat "$D/{PID}")"; else echo cc-no-pid; '
        f'tail -n 5 "$D"/{shlex.quote(log_name)} 2>/dev/null; fi',
        "",
    ])


def parse_launch(stdout: str) -> tuple[Optional[int], str]:
    """The wrapper's pid (or ``None``) and, when there is none, what the log said."""
    lines = stdout.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("cc-pid "):
            return _int(line[len("cc-pid "):]), ""
        if line == "cc-no-pid":
            return None, "\n".join(lines[index + 1:]).strip()
    return None, stdout.strip()


def find_script(folder: str, owner: str) -> str:
    """``sh`` that prints ``cc-launched PID FOLDER`` when this attempt was launched in ``folder``."""
    return "\n".join([
        f"D={shell_path(folder)}",
        f'if [ -d "$D/{LAUNCHED}" ] && [ "$(cat "$D/{OWNER}" 2>/dev/null)" = {shlex.quote(owner)} ]; then',
        f'  echo "cc-launched $(cat "$D/{PID}" 2>/dev/null || echo 0) $(cd "$D" && pwd)"',
        "fi",
        "",
    ])


def _int(text: str) -> Optional[int]:
    try:
        return int(text.strip())
    except ValueError:
        return None
