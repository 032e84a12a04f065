"""The small ``sh`` wrapper every remote job runs under.

The job type starts ``cc-job.sh`` detached (``setsid nohup sh cc-job.sh``), so the job survives a dropped
connection and the end of the process that started it. The wrapper runs the job with its output going to the log,
and leaves next to the log the files that tell how the job went — read again by any later process:

``cc.pid``        the wrapper's pid, which is also the job's process group (written first)
``cc.started``    start time, seconds since 1970
``cc.ended``      end time
``cc.exit_code``  the job's exit code (written last, when everything else is in place)
``cc.reason``     why the job could not run (a remote command or folder missing), when that is the case
``cc.cancelled``  written by a cancel, before the job's processes are signalled

Every process of the job carries ``CC_PROCESS_TAG`` in its environment (inherited whatever it does with sessions
and process groups), so on a Linux host a cancel finds also the processes that left the job's session
(``setsid``, double forks) in ``/proc/*/environ``; and when the job's main process ends, the wrapper ends what it
left behind (SIGTERM, SIGKILL after the grace time), unless the job says ``keep_orphans: true``. Hosts without
``/proc`` get the process group, the session and the descendants only.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import shlex
from pathlib import Path
from typing import Optional

from cc_core.plugins.jobtype import Launch
from cc_core.workflow.model import JobSpec
from cc_ssh.transfer import shell_path

WRAPPER = "cc-job.sh"
PID = "cc.pid"
STARTED = "cc.started"
ENDED = "cc.ended"
EXIT_CODE = "cc.exit_code"
REASON = "cc.reason"
CANCELLED = "cc.cancelled"
OWNER = "cc.owner"
LAUNCHED = ".cc-launched"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LOCAL_ONLY_ENV = ("CC_WORKFLOW_DIR",)  # a folder on the user's machine means nothing on the host


def script_name(launch: Launch) -> Optional[str]:
    """The name the script or notebook gets in the remote job folder."""
    path = launch.script_path()
    return path.name if path is not None else None


def executed_notebook_name(name: str) -> str:
    stem = name[:-len(".ipynb")] if name.endswith(".ipynb") else name
    return f"{stem}.out.ipynb"


def python_for(job: JobSpec) -> str:
    """The remote Python interpreter, quoted for ``sh``: ``python:``, else ``venv:``/bin/python, else python3."""
    if job.python:
        return shell_path(job.python)
    if job.venv:
        return shell_path(posixpath.join(job.venv, "bin", "python"))
    return "python3"


def _args(job: JobSpec) -> str:
    return "".join(" " + shlex.quote(arg) for arg in job.args)


def payload_lines(launch: Launch) -> list[str]:
    """The ``sh`` lines that run the job's script, notebook or command (in the working folder)."""
    job = launch.job
    name = script_name(launch)
    if job.command:
        return ["cc_need sh", f"sh -c {shlex.quote(job.command + _args(job))}"]
    assert name is not None
    here = f'"$D"/{shlex.quote(name)}'
    if job.notebook:
        return _notebook_lines(launch, here, name)
    suffix = Path(name).suffix.lower()
    if suffix == ".py":
        python = python_for(job)
        return [f"cc_need {python}", f"{python} {here}{_args(job)}"]
    if suffix in (".sh", ".bash"):
        return ["cc_need bash", f"bash {here}{_args(job)}"]
    return [f"chmod +x {here}", f"{here}{_args(job)}"]


def _notebook_lines(launch: Launch, here: str, name: str) -> list[str]:
    job = launch.job
    python = python_for(job)
    out = f'"$D"/{shlex.quote(executed_notebook_name(name))}'
    kernel = "" if _has_kernelspec(launch.script_path()) else " -k python3 -l python"
    parameters = f" -y {shlex.quote(json.dumps(job.parameters))}" if job.parameters else ""
    nbconvert = (f"{python} -m nbconvert --to notebook --execute {here} --output-dir \"$D\" "
                 f"--output {shlex.quote(executed_notebook_name(name))}")
    if job.parameters:
        nbconvert = 'cc_fail 127 "notebook parameters need papermill: pip install papermill for ' + \
                    f'{_dq(python_name(job))} on $(hostname)"'
    return [
        f"cc_need {python}",
        f"if {python} -c 'import papermill' >/dev/null 2>&1; then",
        f"  {python} -m papermill --no-progress-bar{kernel} {here} {out}{parameters}",
        f"elif {python} -c 'import nbconvert' >/dev/null 2>&1; then",
        f"  {nbconvert}",
        "else",
        f'  cc_fail 127 "neither papermill nor nbconvert can be imported by {_dq(python_name(job))} on $(hostname) '
        '(pip install nbconvert ipykernel)"',
        "fi",
    ]


def _dq(text: str) -> str:
    """``text`` made safe inside a double-quoted ``sh`` string."""
    return re.sub(r'([\\"$`])', r"\\\1", text)


def python_name(job: JobSpec) -> str:
    """The remote Python interpreter as the user named it (for messages)."""
    return job.python or (posixpath.join(job.venv, "bin", "python") if job.venv else "python3")


def _has_kernelspec(path: Optional[Path]) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path is not None else {}
    except (OSError, ValueError):
        return False
    return bool(((data.get("metadata") or {}).get("kernelspec") or {}).get("name"))


TAG_VARIABLE = "CC_PROCESS_TAG"


def process_tag(launch: Launch) -> str:
    """The tag in the environment of every process of this attempt (the same each time it is asked for)."""
    owner = f"{launch.job_dir}:{launch.workflow}:{launch.run_id}:{launch.job.name}:{launch.attempt}"
    return "cc-" + hashlib.sha256(owner.encode()).hexdigest()[:20]


def tagged_processes(tag_expression: str) -> str:
    """``sh`` printing the pids of the processes whose environment holds the tag (Linux hosts; nothing elsewhere)."""
    return (f'grep -l -a -s -F "{TAG_VARIABLE}={tag_expression}" /proc/[0-9]*/environ 2>/dev/null '
            "| sed -n 's|^/proc/\\([0-9]*\\)/environ$|\\1|p'")


def wrapper_script(launch: Launch, log_name: str, grace: float = 3.0) -> str:
    """The text of ``cc-job.sh`` for ``launch`` (it finds its own folder, so it does not depend on where it is)."""
    job = launch.job
    exports = [f"export {key}={shlex.quote(value)}" for key, value in launch.env.items()
               if ENV_NAME.match(key) and key not in LOCAL_ONLY_ENV]
    workdir = _workdir(job)
    lines = [
        "#!/bin/sh",
        f"# cc runs job '{job.name}' (attempt {launch.attempt} of run {launch.run_id}, workflow '{launch.workflow}')",
        "# here, detached from the connection that started it. Next to the log it leaves cc.pid (this wrapper, whose",
        "# pid is also the job's process group), cc.started and cc.ended (seconds since 1970), cc.exit_code (written",
        "# last), cc.reason (why the job could not run) and, after a cancel, cc.cancelled.",
        'D=$(cd "$(dirname "$0")" && pwd) || exit 1',
        f'LOG="$D"/{shlex.quote(log_name)}',
        'exec >>"$LOG" 2>&1 </dev/null',
        f'echo $$ >"$D/{PID}.new" && mv -f "$D/{PID}.new" "$D/{PID}"',
        f'date +%s >"$D/{STARTED}"',
        "cc_end() {",
        f'  if [ "$1" = 127 ] && [ ! -s "$D/{REASON}" ]; then tail -n 1 "$LOG" >"$D/{REASON}" 2>/dev/null; fi',
        f'  date +%s >"$D/{ENDED}"',
        f'  echo "$1" >"$D/{EXIT_CODE}.new" && mv -f "$D/{EXIT_CODE}.new" "$D/{EXIT_CODE}"',
        *([] if job.keep_orphans else ["  cc_leftovers"]),
        '  exit "$1"',
        "}",
        "# What the job left behind when its main process ended: SIGTERM, and SIGKILL after the grace time.",
        "cc_leftovers() {",
        f'  t=${TAG_VARIABLE}; unset {TAG_VARIABLE}; [ -n "$t" ] || return 0',
        f'  l=$({tagged_processes("$t")}); [ -n "$l" ] || return 0',
        '  kill -TERM $l 2>/dev/null; i=0',
        f'  while [ $i -lt {max(1, int(grace / 0.1))} ]; do',
        f'    l=$({tagged_processes("$t")}); [ -n "$l" ] || return 0',
        "    sleep 0.1 2>/dev/null || sleep 1; i=$((i+1))",
        "  done",
        '  kill -KILL $l 2>/dev/null',
        "}",
        f'cc_fail() {{ echo "cc: $2"; printf \'%s\\n\' "$2" >"$D/{REASON}"; cc_end "$1"; }}',
        "cc_need() {",
        '  command -v "$1" >/dev/null 2>&1 || cc_fail 127 "remote command \'$1\' not found on $(hostname) '
        '(PATH=$PATH)"',
        "}",
        "# A cancel signals the whole process group; the wrapper outlives the job to record its exit code.",
        "trap 'cc_signal=1' HUP INT TERM",
        *exports,
        f"export {TAG_VARIABLE}={process_tag(launch)}",
        'export CC_JOB_DIR="$D"',
        'CC_RUN_DIR=$(cd "$D/../.." && pwd) && export CC_RUN_DIR',
        f"cd {workdir} || cc_fail 1 \"the working folder {_dq(job.workdir or '')} does not exist on $(hostname)\"",
        *payload_lines(launch),
        "cc_end $?",
        "",
    ]
    return "\n".join(lines)


def _workdir(job: JobSpec) -> str:
    """The working folder, quoted for ``sh``: ``workdir:`` (relative ones start in the job folder) or the job
    folder itself."""
    if not job.workdir:
        return '"$D"'
    if job.workdir.startswith("/") or job.workdir.startswith("~"):
        return shell_path(job.workdir)
    return '"$D"/' + shlex.quote(job.workdir)


def bad_env_names(job: JobSpec) -> list[str]:
    return [key for key in job.env if not ENV_NAME.match(key)]
