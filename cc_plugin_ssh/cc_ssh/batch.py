"""The commands that look after many jobs of one host at once: one remote command per host per call.

* :func:`status_script` — for every job folder, whether its wrapper still runs, or its exit code once it ended.
* :func:`logs_script` — the next bytes of every job's log from an offset.
* :func:`cancel_script` — end every job's process tree: its process group and session, every descendant (also
  those that moved to a group of their own) and, on Linux hosts, every process carrying the job's tag in its
  environment (also those that left the session and were re-parented), with SIGTERM and then, after a grace
  time, SIGKILL.

Each script is sent on the standard input of ``sh -s``, so no command line grows with the number of jobs.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Optional, Sequence

from cc_ssh.wrapper import CANCELLED, EXIT_CODE, LAUNCHED, PID, REASON, TAG_VARIABLE, WRAPPER, tagged_processes

# One ps listing serves every job of the host. A wrapper runs as "sh <folder>/cc-job.sh", so a job runs while a
# process with that command line exists, whatever became of its pid.
_PS = 'cc_ps=$(ps -ww -e -o pid= -o args= 2>/dev/null || ps -e -o pid= -o args=)'
_RUNS = 'case "$cc_ps" in *"$2/' + WRAPPER + '"*) return 0;; esac; return 1'


@dataclass(frozen=True)
class RemoteStatus:
    """How one job stands on its host."""

    state: str                        # "running", "ended", "lost" (gone without an exit code), "missing"
    exit_code: Optional[int] = None
    cancelled: bool = False
    reason: str = ""


def status_script(folders: Sequence[str]) -> str:
    lines = [
        _PS,
        f"cc_runs() {{ {_RUNS}; }}",
        "cc_state() {",
        f'  c=0; [ -e "$2/{CANCELLED}" ] && c=1',
        f'  if [ -f "$2/{EXIT_CODE}" ]; then',
        f'    printf \'%s ended %s %s %s\\n\' "$1" "$(cat "$2/{EXIT_CODE}")" "$c" '
        f'"$(head -c 400 "$2/{REASON}" 2>/dev/null | tr \'\\n\' \' \')"',
        '  elif cc_runs "$1" "$2"; then echo "$1 running"',
        f'  elif [ -f "$2/{EXIT_CODE}" ]; then cc_state "$1" "$2"',
        f'  elif [ -d "$2/{LAUNCHED}" ]; then echo "$1 lost - $c"',
        '  else echo "$1 missing"',
        "  fi",
        "}",
    ]
    lines += [f"cc_state {index} {shlex.quote(folder)}" for index, folder in enumerate(folders)]
    return "\n".join(lines) + "\n"


def parse_status(stdout: str, count: int) -> dict[int, RemoteStatus]:
    found: dict[int, RemoteStatus] = {}
    for line in stdout.splitlines():
        parts = line.split(" ", 4)
        if len(parts) < 2 or not parts[0].isdigit() or int(parts[0]) >= count:
            continue
        index, state = int(parts[0]), parts[1]
        if state == "ended":
            code = _int(parts[2]) if len(parts) > 2 else None
            cancelled = len(parts) > 3 and parts[3] == "1"
            reason = parts[4].strip() if len(parts) > 4 else ""
            found[index] = RemoteStatus("ended", code, cancelled, reason)
        elif state == "lost":
            found[index] = RemoteStatus("lost", None, len(parts) > 3 and parts[3] == "1")
        elif state in ("running", "missing"):
            found[index] = RemoteStatus(state)
    return found


@dataclass(frozen=True)
class LogRead:
    """Where one log read should start, and which job folder tells whether the job ended."""

    folder: str
    log: str
    offset: int
    limit: int


@dataclass(frozen=True)
class LogPiece:
    data: bytes
    ended: bool      # the job ended before the bytes were read: they are the whole rest of the log
    size: int        # the log's size when read


def logs_script(reads: Sequence[LogRead], final_limit: int) -> str:
    """``sh`` that prints, per read, ``cc-chunk INDEX N ENDED SIZE`` and then exactly N bytes of the log. Once a
    job ended, up to ``final_limit`` bytes are read instead of the read's own limit."""
    lines = [
        _PS,
        f"cc_runs() {{ {_RUNS}; }}",
        "cc_chunk() {  # index folder log offset limit",
        f'  e=0; if [ -f "$2/{EXIT_CODE}" ] || ! cc_runs "$1" "$2"; then e=1; set -- "$1" "$2" "$3" "$4" '
        f'{int(final_limit)}; fi',
        '  s=0; if [ -f "$3" ]; then s=$(wc -c <"$3"); s=$((s + 0)); fi',
        '  n=$((s - $4)); [ "$n" -lt 0 ] && n=0; [ "$n" -gt "$5" ] && n=$5',
        '  echo "cc-chunk $1 $n $e $s"',
        '  if [ "$n" -gt 0 ]; then tail -c +$(($4 + 1)) "$3" | head -c "$n"; fi',
        "}",
    ]
    lines += [f"cc_chunk {index} {shlex.quote(read.folder)} {shlex.quote(read.log)} {int(read.offset)} "
              f"{int(read.limit)}" for index, read in enumerate(reads)]
    return "\n".join(lines) + "\n"


def parse_logs(stdout: bytes, count: int) -> dict[int, LogPiece]:
    """Split the output of :func:`logs_script`: a header line, then exactly that many bytes, per job."""
    found: dict[int, LogPiece] = {}
    at = 0
    while at < len(stdout):
        end = stdout.find(b"\n", at)
        if end < 0:
            break
        header = stdout[at:end].decode("ascii", "replace").split()
        at = end + 1
        if len(header) != 5 or header[0] != "cc-chunk":
            continue
        index, size, ended, total = _int(header[1]), _int(header[2]), header[3] == "1", _int(header[4])
        if index is None or size is None or index >= count:
            break
        data = stdout[at:at + size]
        at += size
        found[index] = LogPiece(data, ended and len(data) == size, total or 0)
    return found


def cancel_script(folders: Sequence[str], grace: float) -> str:
    """``sh`` that ends the jobs in ``folders`` and prints ``cc-left N`` (processes that would not die)."""
    steps = max(1, int(grace / 0.1))
    lines = [
        _PS,
        f"cc_runs() {{ {_RUNS}; }}",
        "# every process in the job's process group or session, or descending from its wrapper",
        "cc_tree() {",
        "  ps -e -o pid= -o ppid= -o pgid= -o sid= 2>/dev/null | awk -v root=\"$1\" '",
        "    { pid[NR]=$1; ppid[NR]=$2; if ($1==root || $3==root || $4==root) mark[$1]=1 }",
        "    END { do { more=0; for (i=1; i<=NR; i++) if (!(pid[i] in mark) && (ppid[i] in mark)) "
        "{ mark[pid[i]]=1; more=1 } } while (more); for (p in mark) print p }'",
        "}",
        "cc_all=''",
        "cc_groups=''",
        "cc_tags=''",
        "cc_tagged() { for t in $cc_tags; do " + tagged_processes("$t") + "; done; }",
        "cc_stop() {  # index folder",
        f'  [ -f "$2/{EXIT_CODE}" ] && return 0',
        f'  : >"$2/{CANCELLED}"',
        "  cc_runs \"$1\" \"$2\" || return 0",
        f'  p=$(cat "$2/{PID}" 2>/dev/null) || return 0',
        '  cc_groups="$cc_groups $p"',
        f'  t=$(sed -n \'s/^export {TAG_VARIABLE}=//p\' "$2/{WRAPPER}" 2>/dev/null)',
        '  [ -n "$t" ] && cc_tags="$cc_tags $t"',
        '  cc_all="$cc_all $(cc_tree "$p" | tr \'\\n\' \' \')"',
        "}",
    ]
    lines += [f"cc_stop {index} {shlex.quote(folder)}" for index, folder in enumerate(folders)]
    lines += [
        'cc_all="$cc_all $(cc_tagged | tr \'\\n\' \' \')"',
        'for g in $cc_groups; do kill -TERM -- "-$g" 2>/dev/null; done',
        'for p in $cc_all; do kill -TERM "$p" 2>/dev/null; done',
        "# processes still there, zombies left out (they are dead, only not reaped yet)",
        "cc_left() {",
        '  [ -n "$cc_all" ] || return 0',
        '  ps -o pid= -o stat= -p "$(echo $cc_all | tr \' \' \',\')" 2>/dev/null | awk \'$2 !~ /^Z/ {print $1}\'',
        "}",
        "i=0",
        "while [ $i -lt " + str(steps) + " ]; do",
        '  [ -z "$(cc_left)" ] && break',
        "  sleep 0.1 2>/dev/null || sleep 1; i=$((i+1))",
        "done",
        "# what is still there gets SIGKILL, and so does anything the job started in the meantime",
        'for g in $cc_groups; do cc_all="$cc_all $(cc_tree "$g" | tr \'\\n\' \' \')"; '
        'kill -KILL -- "-$g" 2>/dev/null; done',
        'cc_all="$cc_all $(cc_tagged | tr \'\\n\' \' \')"',
        'n=0; for p in $(cc_left); do kill -KILL "$p" 2>/dev/null && n=$((n+1)); done',
        'echo "cc-left $n"',
        "",
    ]
    return "\n".join(lines)


def _int(text: str) -> Optional[int]:
    try:
        return int(text.strip())
    except (ValueError, AttributeError):
        return None
