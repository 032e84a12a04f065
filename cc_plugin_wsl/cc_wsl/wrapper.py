"""The small bash programs that run inside the distribution: the job's wrapper, the batch check and the cancel.

The wrapper ``.attemptN.wsl.sh`` is written by cc into the job's folder (next to its log) and started with
``wsl.exe ... --cd JOB_DIR -- bash -lc "bash .attemptN.wsl.sh"``. Started like that it starts itself again, detached
(``setsid nohup``, its own session and process group), prints that copy's pid and returns, so wsl.exe returns at
once. The detached copy leaves in the job's folder, where cc on Windows reads them directly:

``.attemptN.pid``     ``PID STARTTIME DISTRIBUTION``: the wrapper's pid (also its process group), its start time
                      in clock ticks since boot (so a pid used again after WSL restarted is not mistaken for it)
``.attemptN.end``     when the job ended, seconds since 1970
``.attemptN.exit``    the job's exit code (written last, by a rename, so it is never seen half written)

and sends the job's standard output and error to the log. ``.attemptN.cancel`` is written by cc when it cancels.

Every process of the job carries ``CC_PROCESS_TAG=wsl-PID-STARTTIME`` (the wrapper's) in its environment, whatever
it does with sessions and process groups: a cancel ends also the processes that left the job's session
(``setsid``, double forks), and when the job's main process ends the wrapper ends what it left behind (SIGTERM,
SIGKILL after the grace time), unless the job says ``keep_orphans: true``.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Sequence

DETACHED = "cc-detached"
TAG_VARIABLE = "CC_PROCESS_TAG"
TAGGED = ('grep -l -a -s -F "' + TAG_VARIABLE + '=$cc_tag" /proc/[0-9]*/environ 2>/dev/null '
          "| sed -n 's|^/proc/\\([0-9]*\\)/environ$|\\1|p'")
"""bash printing the pids of the processes carrying ``$cc_tag`` in their environment."""
START_MARK = "cc-wsl-pid"


@dataclass(frozen=True)
class AttemptFiles:
    """The files of one attempt, as paths of the host (cc's side)."""

    wrapper: Path
    pid: Path
    end: Path
    exit: Path
    cancel: Path

    @classmethod
    def of(cls, job_dir: Path, attempt: int) -> "AttemptFiles":
        stem = f".attempt{attempt}"
        return cls(job_dir / f"{stem}.wsl.sh", job_dir / f"{stem}.pid", job_dir / f"{stem}.end",
                   job_dir / f"{stem}.exit", job_dir / f"{stem}.cancel")


@dataclass(frozen=True)
class PidRecord:
    pid: int
    start: Optional[str]
    distribution: Optional[str]


def start_words(attempt: int) -> str:
    """What ``bash -lc`` runs in the job's folder to start the wrapper (only words that pass ``wsl.exe --``)."""
    return f"bash .attempt{attempt}.wsl.sh"


def shell_path(path: str) -> str:
    """``path`` quoted for bash, keeping a leading ``~`` meaning the Linux home folder."""
    if path == "~":
        return '"$HOME"'
    if path.startswith("~/"):
        return '"$HOME"/' + shlex.quote(path[2:])
    return shlex.quote(path)


def wrapper_script(*, title: str, pid_file: str, end_file: str, exit_file: str, log: str, workdir: str,
                   env: Mapping[str, str], payload: str, keep_orphans: bool = False, grace: float = 3.0) -> str:
    """The wrapper's text. Paths are WSL paths; ``payload`` is the job's command line, already quoted."""
    exports = "\n".join(f"export {name}={shlex.quote(value)}" for name, value in env.items())
    leftovers = "" if keep_orphans else "    cc_leftovers\n"
    return f"""#!/bin/bash
# {title}
if [ "${{1-}}" != {DETACHED} ]; then
    setsid nohup bash "$0" {DETACHED} </dev/null >/dev/null 2>&1 &
    echo "{START_MARK} $!"
    exit 0
fi
cc_pid_file={shlex.quote(pid_file)}
cc_end_file={shlex.quote(end_file)}
cc_exit_file={shlex.quote(exit_file)}
exec >>{shlex.quote(log)} 2>&1 </dev/null
read -r cc_stat </proc/$$/stat
set -- ${{cc_stat##*) }}
echo "$$ ${{20}} ${{WSL_DISTRO_NAME-}}" >"$cc_pid_file.tmp" && mv -f "$cc_pid_file.tmp" "$cc_pid_file"
export {TAG_VARIABLE}="wsl-$$-${{20}}"
# What the job left behind when its main process ended: SIGTERM, and SIGKILL after the grace time.
cc_leftovers() {{
    local cc_tag=${TAG_VARIABLE} cc_left i=0
    unset {TAG_VARIABLE}
    cc_left=$({TAGGED}); [ -n "$cc_left" ] || return 0
    kill -TERM $cc_left 2>/dev/null
    while [ $i -lt {max(1, int(grace / 0.1))} ]; do
        cc_left=$({TAGGED}); [ -n "$cc_left" ] || return 0
        sleep 0.1; i=$((i+1))
    done
    kill -KILL $cc_left 2>/dev/null
}}
cc_finish() {{
    date +%s >"$cc_end_file"
    echo "$1" >"$cc_exit_file.tmp" && mv -f "$cc_exit_file.tmp" "$cc_exit_file"
{leftovers}    exit "$1"
}}
# A cancel signals the whole process group: the job ends, this wrapper lives on to record how.
trap 'cc_signalled=1' TERM INT HUP
{exports}
cd {shell_path(workdir)} || {{ echo "cc: cannot enter the working directory" {shell_path(workdir)}; cc_finish 2; }}
{payload}
cc_finish $?
"""


def check_script(jobs: Sequence[tuple[int, Optional[str]]]) -> str:
    """A script printing ``cc-alive PID`` or ``cc-gone PID`` for each (pid, start time) — one call per distribution.

    A process counts as the job's only when its start time matches (WSL restarted hands out pids again) and it is
    not a zombie.
    """
    entries = " ".join(f"{pid}:{start or '-'}" for pid, start in jobs)
    return f"""for cc_entry in {entries}; do
    cc_pid=${{cc_entry%%:*}}; cc_want=${{cc_entry#*:}}
    if read -r cc_stat 2>/dev/null </proc/$cc_pid/stat; then
        set -- ${{cc_stat##*) }}
        if [ "$1" != Z ] && {{ [ "$cc_want" = - ] || [ "${{20}}" = "$cc_want" ]; }}; then
            echo "cc-alive $cc_pid"; continue
        fi
    fi
    echo "cc-gone $cc_pid"
done
"""


def parse_check_output(text: str) -> tuple[set[int], set[int]]:
    """(alive pids, gone pids) from :func:`check_script`'s output."""
    alive: set[int] = set()
    gone: set[int] = set()
    for line in text.splitlines():
        words = line.split()
        if len(words) == 2 and words[1].isdigit():
            if words[0] == "cc-alive":
                alive.add(int(words[1]))
            elif words[0] == "cc-gone":
                gone.add(int(words[1]))
    return alive, gone


def cancel_script(jobs: Sequence[tuple[int, Optional[str]]], grace: float) -> str:
    """A script ending each job's process tree: its process group and every descendant (also those that left the
    group), first with SIGTERM, after ``grace`` seconds with SIGKILL. The wrappers themselves are spared the
    SIGKILL for one more second, so that they can record the exit code."""
    entries = " ".join(f"{pid}:{start or '-'}" for pid, start in jobs)
    return f"""cc_roots=""
cc_tags=""
for cc_entry in {entries}; do
    cc_pid=${{cc_entry%%:*}}; cc_want=${{cc_entry#*:}}
    read -r cc_stat 2>/dev/null </proc/$cc_pid/stat || continue
    set -- ${{cc_stat##*) }}
    if [ "$cc_want" = - ] || [ "${{20}}" = "$cc_want" ]; then
        cc_roots="$cc_roots $cc_pid"; cc_tags="$cc_tags wsl-$cc_pid-${{20}}"
    fi
done
[ -n "$cc_roots" ] || exit 0
cc_members() {{  # the roots' process groups, all their descendants and all that carry their tags, roots excluded
    local -A kids=() group=()
    local f line p cc_tag queue=() out=()
    for cc_tag in $cc_tags; do
        for p in $({TAGGED}); do [[ " $cc_roots " == *" $p "* ]] || queue+=("$p"); done
    done
    for f in /proc/[0-9]*/stat; do
        read -r line 2>/dev/null <"$f" || continue
        set -- ${{line##*) }}
        kids[$2]+=" ${{line%% *}}"
        group[${{line%% *}}]=$3
    done
    for p in $cc_roots; do
        queue+=(${{kids[$p]:-}})
        for f in "${{!group[@]}}"; do [ "${{group[$f]}}" = "$p" ] && [ "$f" != "$p" ] && out+=("$f"); done
    done
    while [ ${{#queue[@]}} -gt 0 ]; do
        p=${{queue[0]}}; queue=("${{queue[@]:1}}"); out+=("$p"); queue+=(${{kids[$p]:-}})
    done
    echo "${{out[@]}}"
}}
cc_tree=$(cc_members)
for cc_pid in $cc_roots; do kill -TERM -- -$cc_pid 2>/dev/null; kill -TERM $cc_pid 2>/dev/null; done
for cc_pid in $cc_tree; do kill -TERM $cc_pid 2>/dev/null; done
(
    trap '' HUP TERM
    sleep {grace:g}
    cc_tree="$cc_tree $(cc_members)"
    for cc_pid in $cc_tree; do kill -KILL $cc_pid 2>/dev/null; done
    sleep 1
    for cc_pid in $cc_roots; do kill -KILL -- -$cc_pid 2>/dev/null; kill -KILL $cc_pid 2>/dev/null; done
) </dev/null >/dev/null 2>&1 &
exit 0
"""


def parse_start_output(text: str) -> Optional[int]:
    """The pid the wrapper printed when it started itself detached."""
    for line in text.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] == START_MARK and words[1].isdigit():
            return int(words[1])
    return None


def read_pid_file(path: Path) -> Optional[PidRecord]:
    try:
        words = path.read_text(encoding="utf-8", errors="replace").split()
    except OSError:
        return None
    if not words or not words[0].isdigit():
        return None
    start = words[1] if len(words) > 1 and words[1].isdigit() else None
    return PidRecord(int(words[0]), start, words[2] if len(words) > 2 else None)


def read_exit_file(path: Path) -> Optional[int]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    try:
        return int(text)
    except ValueError:
        return None
