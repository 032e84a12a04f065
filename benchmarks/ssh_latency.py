"""How soon cc hears of a remote job's end and progress lines, and whether jobs survive sshd being killed.

Drives the ssh job type as the engine does (submit, pushed updates through the sink, a check every second)
against a running test sshd; :func:`measure` returns:

* ``end_ms``: per job, from the moment the job's last command ran (its own ``date``) to the pushed end;
* ``progress_ms``: from a progress line's own timestamp to the moment it is in the local log;
* ``kill``: 100 jobs submitted while every process of the sshd is killed and the sshd started again: how many
  jobs ran how many times.
"""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path
from typing import Any

from cc_core.plugins.jobtype import JobTypeContext, JobUpdate, Launch
from cc_core.testing.sshd import SSHServer
from cc_core.workflow.model import JobSpec
from cc_ssh.jobtype import SSHJobType


class Sink:
    def __init__(self) -> None:
        self.ends: dict[str, tuple[float, JobUpdate]] = {}

    def __call__(self, update: JobUpdate) -> None:
        if update.state.is_final:
            self.ends.setdefault(update.key, (time.time(), update))


def launch(work: Path, run_id: int, name: str, command: str, host: str) -> Launch:
    job = JobSpec(name=name, kind="ssh", host=host, command=command)
    job_dir = work / f"run{run_id}" / name
    job_dir.mkdir(parents=True, exist_ok=True)
    env = {"CC_RUN_ID": str(run_id), "CC_JOB": name, "CC_ATTEMPT": "1"}
    return Launch(run_id=run_id, workflow="bench", job=job, attempt=1, job_dir=job_dir, workflow_dir=work,
                  log_path=job_dir / f"{name}.log", env=env)


def follow(job_type: SSHJobType, sink: Sink, launches: dict[str, tuple[Launch, dict[str, Any]]],
           timeout: float = 300) -> None:
    from cc_core.plugins.jobtype import ActiveJob

    deadline = time.monotonic() + timeout
    while any(key not in sink.ends for key in launches) and time.monotonic() < deadline:
        active = [ActiveJob(key, 1, handle, l.job, l.job_dir, l.log_path)
                  for key, (l, handle) in launches.items() if key not in sink.ends]
        for update in job_type.check(active):
            sink(update)
        time.sleep(job_type.poll_interval)


def measure(server: SSHServer, work: Path) -> dict[str, Any]:
    alias = server.alias
    options = {"ssh_config": str(server.config_path), "remote_root": str(work / "remote"),
               "reconnect_backoff_max": 1}
    job_type = SSHJobType(JobTypeContext(home=work / "home", options=options))
    sink = Sink()
    job_type.start(sink)
    marks = work / "marks"
    marks.mkdir(parents=True, exist_ok=True)

    # ends and progress lines, 20 jobs one after another
    end_ms: list[float] = []
    progress_ms: list[float] = []
    for i in range(20):
        name = f"line{i}"
        command = (f"sleep 0.2; echo \"# cc progress=50 t=$(date +%s.%N)\"; sleep 0.3; "
                   f"date +%s.%N > {marks}/{name}")
        item = launch(work, 1, name, command, alias)
        handle = job_type.submit(item)
        line_at = None
        follow_at = time.monotonic() + 30
        while name not in sink.ends:
            if time.monotonic() > follow_at:   # nothing pushed: the checks find the end (and it shows)
                follow(job_type, sink, {name: (item, handle)})
            if line_at is None and item.log_path.exists() and b"t=" in item.log_path.read_bytes():
                line_at = time.time()
                stamp = float(item.log_path.read_bytes().split(b"t=")[1].split()[0])
                progress_ms.append((line_at - stamp) * 1000)
            time.sleep(0.002)
        ended_at = sink.ends[name][0]
        end_ms.append((ended_at - float((marks / name).read_text())) * 1000)

    # every process of the sshd killed mid-run and the sshd started again
    counts = work / "counts"
    counts.mkdir()
    launches: dict[str, tuple[Launch, dict[str, Any]]] = {}

    def submit_all() -> None:
        for i in range(100):
            item = launch(work, 2, f"j{i}", f"echo run >> {counts}/{i}", alias)
            launches[item.key] = (item, job_type.submit(item))

    submitting = threading.Thread(target=submit_all)
    started = time.monotonic()
    submitting.start()
    while len(launches) < 30:
        time.sleep(0.01)
    server.stop()
    server.start()
    submitting.join()
    follow(job_type, sink, launches)
    took = time.monotonic() - started
    runs = [len((counts / str(i)).read_text().splitlines()) if (counts / str(i)).exists() else 0 for i in range(100)]
    done = sum(1 for key in launches if key in sink.ends and sink.ends[key][1].state.value == "done")
    job_type.stop()
    other = sorted({f"{u.state.value}: {u.reason}" for key, (_, u) in sink.ends.items()
                    if key in launches and u.state.value != "done"})
    return {
        "end_ms": {"median": statistics.median(end_ms), "max": max(end_ms)},
        "progress_ms": {"median": statistics.median(progress_ms), "max": max(progress_ms)},
        "log_interval": job_type.log_interval,
        "kill": {"jobs": 100, "ran_once": runs.count(1), "ran_twice": sum(1 for r in runs if r > 1),
                 "never": runs.count(0), "done": done, "seconds": took,
                 "not_done": other},
    }
