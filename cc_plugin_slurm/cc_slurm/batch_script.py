"""The batch script cc hands to ``sbatch``, and where its files live on the login host.

The script carries the job's ``#SBATCH`` directives, exports the job's environment, enters the job's working
folder, runs the job (a ``.sh`` with bash, a ``.py`` with Python, a notebook with nbconvert or papermill, a
command with ``sh -c``) and writes the job's exit code to a file next to its log, so the exit code survives even
when SLURM has forgotten the job.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Optional

from cc_core.plugins.jobtype import Launch
from cc_slurm.options import SlurmOptions

# In the script, paths on the login host are either absolute or relative to the folder sbatch ran in.
SUBMIT_DIR = '"$SLURM_SUBMIT_DIR"'


@dataclass(frozen=True)
class JobFiles:
    """Where one attempt's files are on the login host.

    ``folder`` is where ``sbatch`` runs (SLURM's submit folder); ``log``, ``exit_file`` and ``batch`` are inside
    it or absolute. Locally, ``folder`` is the job's own folder of the run and ``log`` is the run's log file, so
    SLURM writes the log cc reads. On a remote login host, ``folder`` is ``<remote_root>/<run>/<job>/<attempt>``.
    """

    folder: str
    log: str
    exit_file: str
    batch: str
    staged: tuple[tuple[str, str], ...] = ()   # (local file, name in folder) copied before sbatch runs (remote)
    remote: bool = False

    def in_folder(self, name: str) -> str:
        return name if PurePosixPath(name).is_absolute() else str(PurePosixPath(self.folder) / name)


def slurm_job_name(launch: Launch, home: Path) -> str:
    """The SLURM job name of an attempt, ``cc.<run>.<job>.<attempt>.<tag>``: unique per run, job and attempt, and
    through the tag per CC_HOME (``home``) and run folder, so a lost submission can be found again and no other
    CC_HOME's job (whose run ids start at 1 too) is ever taken for it."""
    from cc_core.home import home_id

    tag = hashlib.sha256(f"{home_id(home)}:{launch.job_dir.parent}".encode()).hexdigest()[:10]
    return f"cc.{launch.run_id}.{launch.job.name}.{launch.attempt}.{tag}"


def plan_files(launch: Launch, options: SlurmOptions, remote: bool) -> JobFiles:
    batch = f"{launch.job.name}.attempt{launch.attempt}.sbatch"
    if not remote:
        log = launch.log_path
        return JobFiles(folder=str(launch.job_dir), log=str(log), exit_file=str(log.with_suffix(".exit")),
                        batch=batch)
    root = options.remote_root.rstrip("/") or "."
    folder = f"{root}/{launch.run_id}/{launch.job.name}/{launch.attempt}"
    log = launch.log_path.name
    script = launch.script_path()
    staged = [(str(script), script.name)] if script is not None else []
    return JobFiles(folder=folder, log=log, exit_file=str(PurePosixPath(log).with_suffix(".exit")), batch=batch,
                    staged=tuple(staged), remote=True)


def python_for(launch: Launch, remote: bool) -> str:
    """The interpreter for ``.py`` scripts and notebooks: ``python:``, else ``venv:``'s, else ``python3`` on a remote
    login host or this cc's own Python here. ``~/`` means the home folder where the job runs."""
    job = launch.job
    if job.python:
        return job.python
    if job.venv:
        return str(PurePosixPath(job.venv) / "bin" / "python")
    return "python3" if remote else sys.executable


def _in_script(path: str, remote: bool) -> str:
    """A path as the batch script names it (remote relative paths start at the submit folder)."""
    if remote and not PurePosixPath(path).is_absolute() and not path.startswith("~"):
        return f"{SUBMIT_DIR}/{shlex.quote(path)}"
    if path.startswith("~/"):
        return '"$HOME"/' + shlex.quote(path[2:])
    return shlex.quote(path)


def job_command(launch: Launch, files: JobFiles) -> str:
    """The shell line that runs the job itself."""
    job = launch.job
    if job.command:
        return f"sh -c {shlex.quote(job.command)}"
    script = launch.script_path()
    assert script is not None
    where = _in_script(script.name, True) if files.remote else shlex.quote(str(script))
    args = " ".join(shlex.quote(a) for a in job.args)
    python = _in_script(python_for(launch, files.remote), False)
    if job.notebook:
        out = _in_script(f"{script.stem}.out.ipynb", True) if files.remote else \
            shlex.quote(str(launch.job_dir / f"{script.stem}.out.ipynb"))
        if job.parameters:
            kernel = "" if _has_kernelspec(script) else " -k python3 -l python"
            return (f"{python} -m papermill{kernel} {where} {out} "
                    f"-y {shlex.quote(json.dumps(job.parameters))}")
        return f"{python} -m nbconvert --to notebook --execute {where} --output {out}"
    suffix = script.suffix.lower()
    if suffix == ".py":
        line = f"{python} {where}"
    elif suffix in (".sh", ".bash"):
        line = f"bash {where}"
    else:
        line = where
    return f"{line} {args}".rstrip()


def _has_kernelspec(notebook: Path) -> bool:
    try:
        data = json.loads(notebook.read_text(encoding="utf-8"))
        return bool(data.get("metadata", {}).get("kernelspec", {}).get("name"))
    except (OSError, ValueError, AttributeError):
        return False


def workdir_line(launch: Launch, files: JobFiles) -> str:
    """``cd`` into the job's working folder: ``workdir:`` when given (locally relative to the workflow's folder,
    on a remote login host relative to the job folder there), else the submit folder."""
    workdir = launch.job.workdir
    if not workdir:
        return f"cd {SUBMIT_DIR}"
    if files.remote:
        if PurePosixPath(workdir).is_absolute() or workdir.startswith("~"):
            return f"cd {_in_script(workdir, False)}"
        return f"cd {SUBMIT_DIR}/{shlex.quote(workdir)}"
    path = Path(workdir).expanduser()
    path = path if path.is_absolute() else launch.workflow_dir / path
    return f"cd {shlex.quote(str(path))}"


def batch_script(launch: Launch, options: SlurmOptions, files: JobFiles, name: str,
                 dependency: Optional[str] = None) -> str:
    """The text of the batch script for one attempt (``name``: its :func:`slurm_job_name`)."""
    job = launch.job
    log = _directive_path(files.log)
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name={name}",
        f"#SBATCH --output={log}",
        f"#SBATCH --error={log}",
        "#SBATCH --open-mode=append",
    ]
    lines += options.directive_lines(job.timeout)
    if dependency:
        lines += [f"#SBATCH --dependency={dependency}", "#SBATCH --kill-on-invalid-dep=yes"]
    lines += [
        f"# cc: workflow '{launch.workflow}', run {launch.run_id}, job '{job.name}', attempt {launch.attempt}",
        "",
    ]
    env = dict(launch.env)
    exit_file = _in_script(files.exit_file, files.remote)
    for key, value in sorted(env.items()):
        if files.remote and key in ("CC_JOB_DIR", "CC_RUN_DIR", "CC_WORKFLOW_DIR"):
            continue
        lines.append(f"export {key}={shlex.quote(value)}")
    if files.remote:
        # Folders on the login host: the attempt's folder, and the run's (<remote_root>/<run>/<job>/<attempt>).
        lines.append(f"export CC_JOB_DIR={SUBMIT_DIR}")
        lines.append('export CC_RUN_DIR="${SLURM_SUBMIT_DIR%/*/*}"')
    lines.append(f"export CC_SLURM_EXIT_FILE={exit_file}"
                 + ('${SLURM_ARRAY_TASK_ID:+.$SLURM_ARRAY_TASK_ID}' if options.array is not None else ""))
    lines += [
        'rm -f "$CC_SLURM_EXIT_FILE"',
        workdir_line(launch, files) + ' || { code=$?; echo "cc: cannot enter the working folder" >&2; '
        'echo "$code" > "$CC_SLURM_EXIT_FILE"; exit "$code"; }',
    ]
    lines += [line for line in options.setup if line.strip()]
    lines += [
        job_command(launch, files),
        "code=$?",
        'echo "$code" > "$CC_SLURM_EXIT_FILE"',
        'exit "$code"',
        "",
    ]
    return "\n".join(lines)


def test_script(options: SlurmOptions, timeout: Optional[float]) -> str:
    """A batch script with only the job's directives, for ``sbatch --test-only``."""
    return "\n".join(["#!/bin/bash", *options.directive_lines(timeout), "true", ""])


def _directive_path(path: str) -> str:
    # #SBATCH lines are read by sbatch, not by a shell: no variables. '%' starts one of SLURM's file-name patterns
    # (%j, %x, ...), so a literal one is doubled; a path with blanks goes in double quotes.
    path = path.replace("%", "%%")
    return f'"{path}"' if any(c.isspace() for c in path) else path
