"""``ccw``: cc's command line.

Every command that takes RUN accepts a run id or a workflow name (its latest run). Read commands print JSON with
``--json``. Errors are printed as one clear message and the exit code says what happened: 0 done, 1 the run
failed, 2 bad input, 3 the run was killed, 4 the runner detached and left jobs running.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from cc_core.errors import CCError

EXIT_FOR_STATE = {"done": 0, "failed": 1, "killed": 3, "detached": 4, "interrupted": 4}


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _fmt_time(value: Optional[float]) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value)) if value else "-"


# ------------------------------------------------------------------------------------------------------ run
def _names(values: Optional[Sequence[str]]) -> list[str]:
    """Job names from repeated and comma-separated options (``--force a,b --force c``)."""
    return [name.strip() for value in values or () for name in value.split(",") if name.strip()]


def cmd_run(args: argparse.Namespace) -> int:
    from cc_core.running.events import EventBus
    from cc_core.running.runner import prepare_resume, prepare_run

    bus = EventBus()
    if args.resume:
        _refuse_ended(args.resume)
        engine = prepare_resume(args.resume, bus=bus, max_parallel=args.max_parallel)
    else:
        if not args.file:
            raise CCError("give a workflow file to run, or --resume RUN")
        from cc_core.workflow.file import load_workflow
        from cc_core.workflow.overrides import settings_from

        spec = load_workflow(args.file, settings_from(args.set, args.override))
        _print_warnings(spec)
        engine = prepare_run(spec, scheduler=args.scheduler, max_parallel=args.max_parallel, bus=bus,
                             force=_names(args.force))
    return _drive(engine, bus, args)


def _refuse_ended(ref: str) -> None:
    """``--resume`` follows a run whose runner died or left; one that ended failed or killed is rerun instead."""
    from cc_core.home import open_store
    from cc_core.running.control import refuse_ended

    refuse_ended(open_store().find_run(ref))


def cmd_rerun(args: argparse.Namespace) -> int:
    from cc_core.running.events import EventBus
    from cc_core.running.rerun import prepare_rerun

    bus = EventBus()
    engine = prepare_rerun(args.run, stored=args.stored, jobs=_names(args.jobs), bus=bus,
                           max_parallel=args.max_parallel, force=_names(args.force))
    if not args.json and not args.quiet:
        records = list(engine.records())
        carried = sum(1 for r in records if r.origin)
        source = engine.run.options.get("source")
        read = f"{source} read again" if source and not args.stored else "the definition as it was run"
        sys.stdout.write(f"run {engine.run.id} continues run {engine.run.rerun_of} ({read}): {carried} jobs carried "
                         f"over, {len(records) - carried} to run\n")
        sys.stdout.flush()
    return _drive(engine, bus, args)


def state_label(state: str, origin: Optional[dict[str, Any]]) -> str:
    """``done (cached)`` and ``done (carried)`` for jobs whose result comes from another run."""
    from cc_core.drawing.status_table import state_label as label

    return label(state, origin)


def _drive(engine: Any, bus: Any, args: argparse.Namespace) -> int:
    """Follow a prepared run to its end (live table or plain lines) and say how it ended."""
    _collect_from_here()
    from cc_core.api import RunController

    live = _want_live(args)
    from cc_core.cli.live import LiveTable, Row

    shown = live or not (args.quiet or args.json)   # the table is drawn, or sums the run up at its end
    table = LiveTable(engine.run.workflow, engine.run.id,
                      [Row(r.name, r.host, r.kind, state_label(r.state.value, r.origin), r.attempt, r.progress,
                           r.started, r.ended, r.exit_code, r.reason, r.message) for r in engine.records()]
                      if shown else [])
    bus.subscribe(table.on_event if shown else _end_of(table))
    if not live and not args.json and not args.quiet:
        bus.subscribe(_plain_printer(engine.run.id))
    interrupts = _Interrupts(threading.Event())   # set by Ctrl-C and at the run's end, not by every job event
    bus.subscribe(_wake_at_end(interrupts.wake))
    previous = signal.signal(signal.SIGINT, interrupts)
    try:
        controller = RunController(engine)
        state = _follow(controller, table, live, args, interrupts)
    finally:
        signal.signal(signal.SIGINT, previous)
    if args.json:
        from cc_core.running.control import run_status

        _print_json(run_status(controller.run_id, store=engine.store))
    elif not args.quiet:
        _print_summary(table, controller.run_id, state)
    return EXIT_FOR_STATE.get(state, 1)


def _want_live(args: argparse.Namespace) -> bool:
    if args.json or args.quiet or args.no_live:
        return False
    return sys.stdout.isatty()


def _end_of(table: Any) -> Callable[[Any], None]:
    """Only the run's end, for a table that is neither drawn nor summed up (``-q``, ``--json``)."""
    from cc_core.running.events import RunFinished

    def on_event(event: Any) -> None:
        if isinstance(event, RunFinished):
            table.on_event(event)
    return on_event


def _wake_at_end(wake: threading.Event) -> Callable[[Any], None]:
    from cc_core.running.events import RunFinished

    def on_event(event: Any) -> None:
        if isinstance(event, RunFinished):
            wake.set()
    return on_event


def _plain_printer(run_id: int) -> Callable[[Any], None]:
    from cc_core.running.events import JobStateChanged

    def show(event: Any) -> None:
        if isinstance(event, JobStateChanged) and (event.state.is_final or event.state.value == "retrying"):
            extra = f" (exit {event.exit_code})" if event.exit_code not in (None, 0) else ""
            why = f": {event.reason}" if event.reason and event.state.value != "done" else ""
            state = f"{event.state.value} ({event.origin})" if event.origin else event.state.value
            sys.stdout.write(f"run {run_id}: {event.job} {state}{extra}{why}\n")
            sys.stdout.flush()
    return show


class _Interrupts:
    """Counts Ctrl-C presses with a signal handler, so a press at any moment is seen (never lost in between)."""

    def __init__(self, wake: Any) -> None:
        self.count = 0
        self.wake = wake

    def __call__(self, signum: int, frame: Any) -> None:
        self.count += 1
        self.wake.set()


QUESTION = ("Interrupted: press k to kill the running jobs, or d to detach and leave them running [k/d] "
            "(Ctrl-C again kills)")


def _follow(controller: Any, table: Any, live: bool, args: argparse.Namespace, interrupts: _Interrupts) -> str:
    """Wait for the run, drawing the live table. The first Ctrl-C asks (one key, no Enter; the table goes on
    updating) whether to kill or detach; a second Ctrl-C kills. Without a terminal the first Ctrl-C kills."""
    from contextlib import ExitStack

    from cc_core.cli.keys import read_key, single_keys

    view = None
    if live:
        from rich.live import Live

        view = Live(table.render(), refresh_per_second=8, transient=False)
        view.start()
    asking = decided = False
    with ExitStack() as keys:
        try:
            while not controller.done:
                pause = 0.125 if table.finished is None else 0.002
                if asking:
                    key = read_key(pause)
                    if key in ("k", "d"):
                        asking, decided = False, True
                        table.prompt = None
                        keys.close()
                        _quietly(controller.detach if key == "d" else controller.kill)
                else:
                    # Once the run has finished, its thread ends a moment later: look again soon.
                    interrupts.wake.wait(pause)
                    interrupts.wake.clear()
                if interrupts.count >= 1 and not asking and not decided:
                    if interrupts.count >= 2 or not sys.stdin.isatty():
                        decided = True
                        _quietly(controller.kill)
                    else:
                        asking = True
                        keys.enter_context(single_keys())
                        table.prompt = QUESTION
                        if view is None:
                            sys.stdout.write("\n" + QUESTION + "\n")
                            sys.stdout.flush()
                if asking and interrupts.count >= 2:
                    asking, decided = False, True
                    table.prompt = None
                    keys.close()
                    _quietly(controller.kill)
                if view is not None:
                    view.update(table.render())
        finally:
            table.prompt = None
            if view is not None:
                view.update(table.render())
                view.stop()
    return controller.wait().value


def _quietly(action: Callable[[], Any]) -> None:
    try:
        action()
    except CCError:
        pass  # the run ended meanwhile


def _print_summary(table: Any, run_id: int, state: str) -> None:
    counts = table.counts()
    parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    sys.stdout.write(f"run {run_id} {state}: {parts}\n")
    for row in table.rows.values():
        if row.state in ("failed", "killed"):
            logs = f"  (ccw logs {run_id} {row.name})" if row.started is not None else ""   # only jobs that ran
            sys.stdout.write(f"  {row.name}: {row.state} — {row.reason or ''}{logs}\n")
    if state in ("detached", "interrupted"):
        sys.stdout.write(f"  jobs go on; follow them again with: ccw run --resume {run_id}\n")


# ------------------------------------------------------------------------------------------------------ reading
def cmd_status(args: argparse.Namespace) -> int:
    from cc_core.running.control import run_status
    from cc_core.home import open_store

    store = open_store()
    if not args.run:
        return cmd_list(args)
    status = run_status(args.run, store=store)
    if args.history:
        status["history"] = [t.to_json() for t in store.get_transitions(status["id"], args.job)]
    if args.json:
        _print_json(status)
        return 0
    from cc_core.drawing.status_table import status_lines

    tty = sys.stdout.isatty()
    jobs = [job for job in status["jobs"] if not args.job or job["name"] == args.job]
    width = os.get_terminal_size(sys.stdout.fileno()).columns if tty else None
    out = status_lines(status, color=tty and not os.environ.get("NO_COLOR"), jobs=jobs, width=width)
    if args.history:
        for t in status["history"]:
            out.append(f"{_fmt_time(t['at'])}  {t['job']:<20} #{t['attempt']} {t['state']}"
                       + (f" exit={t['exit_code']}" if t["exit_code"] is not None else "")
                       + (f" ({t['reason']})" if t["reason"] else ""))
    sys.stdout.write("\n".join(out) + "\n")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from cc_core.running.control import effective_state
    from cc_core.home import open_store

    store = open_store()
    runs = store.list_runs(limit=getattr(args, "limit", 50) or 50)
    rows = [{"id": r.id, "workflow": r.workflow, "state": effective_state(r).value, "scheduler": r.scheduler,
             "created": r.created, "started": r.started, "ended": r.ended, "reason": r.reason,
             "rerun_of": r.rerun_of} for r in runs]
    if args.json:
        _print_json(rows)
        return 0
    if not rows:
        sys.stdout.write("no runs yet: ccw run WORKFLOW.yaml\n")
        return 0
    sys.stdout.write(f"{'run':>5}  {'workflow':<24} {'state':<12} {'started':<19}  duration\n")
    for row in rows:
        duration = f"{(row['ended'] or time.time()) - row['started']:.1f}s" if row["started"] else ""
        rerun = f"  (rerun of {row['rerun_of']})" if row["rerun_of"] else ""
        sys.stdout.write(f"{row['id']:>5}  {row['workflow']:<24} {row['state']:<12} {_fmt_time(row['started']):<19}"
                         f"  {duration}{rerun}\n")
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    from cc_core.running.control import effective_state
    from cc_core.errors import JobNotFoundError
    from cc_core.home import open_store

    store = open_store()
    run = store.find_run(args.run)
    jobs = {j.name: j for j in store.get_jobs(run.id)}
    if args.job not in jobs:
        raise JobNotFoundError(f"run {run.id} has no job '{args.job}' (jobs: {', '.join(list(jobs)[:10])})")
    job = jobs[args.job]
    attempt = args.attempt or max(job.attempt, 1)
    log = Path(run.run_dir) / job.name / (f"{job.name}.log" if attempt <= 1 else f"{job.name}.attempt{attempt}.log")
    if (attempt == job.attempt or (job.origin and not args.attempt)) and job.log_path:
        log = Path(job.log_path)   # a carried or cached job's log is the one of the attempt that ran
    offset = 0
    out = sys.stdout.buffer
    while True:
        try:
            with open(log, "rb") as handle:
                handle.seek(offset)
                data = handle.read()
        except FileNotFoundError:
            data = b""
            if not args.follow:
                raise CCError(f"job '{job.name}' of run {run.id} has no log yet ({job.state.value})") from None
        if data:
            out.write(data)
            out.flush()
            offset += len(data)
        if not args.follow:
            return 0
        current = next((j for j in store.get_jobs(run.id) if j.name == job.name), job)
        if current.state.is_final or effective_state(store.get_run(run.id)).is_final:
            if not data:
                return 0
        time.sleep(0.2)


def cmd_progress(args: argparse.Namespace) -> int:
    from cc_core.plugins.progress import progress_line

    if not 0 <= args.progress <= 100:
        raise CCError(f"progress is a number from 0 to 100, not {args.progress:g}")
    sys.stdout.write(progress_line(args.progress, args.msg, args.status) + "\n")
    sys.stdout.flush()
    return 0


def _print_warnings(spec: Any) -> None:
    """What loading found doubtful but runs anyway, on stderr, one line each."""
    from cc_core.workflow.file import warnings_of

    for warning in warnings_of(spec):
        sys.stderr.write(f"warning: {warning}\n")


def cmd_validate(args: argparse.Namespace) -> int:
    from cc_core.errors import WorkflowError
    from cc_core.workflow.validation import validate_workflow
    from cc_core.workflow.file import load_workflow
    from cc_core.workflow.overrides import settings_from

    try:
        spec = load_workflow(args.file, settings_from(args.set, args.override))
        validate_workflow(spec)
        if not args.json:
            _print_warnings(spec)
    except WorkflowError as exc:
        if args.json:
            _print_json({"valid": False, "problems": [
                {"message": p.message, "file": str(p.file) if p.file else None, "line": p.line, "job": p.job,
                 "field": p.field} for p in exc.problems]})
            return 2
        raise
    edges = sum(len(j.depends) for j in spec.jobs.values())
    if args.json:
        from cc_core.workflow.file import warnings_of

        _print_json({"valid": True, "workflow": spec.name, "jobs": len(spec.jobs), "dependencies": edges,
                     "warnings": [str(w) for w in warnings_of(spec)]})
    else:
        sys.stdout.write(f"{args.file}: workflow '{spec.name}' is valid ({len(spec.jobs)} jobs, {edges} "
                         "dependencies)\n")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from cc_core.errors import RunNotFoundError
    from cc_core.home import open_store
    from cc_core.running.runner import spec_from_data
    from cc_core.workflow.file import dump_workflow, load_workflow

    jobs = None
    if Path(args.run).is_file():
        spec = load_workflow(args.run)
    else:
        store = open_store()
        try:
            run = store.find_run(args.run)
        except RunNotFoundError:
            raise
        spec = spec_from_data(run.definition, run.workflow_dir)
        jobs = store.get_jobs(run.id)
    target = Path(args.output) if args.output else None
    note = ""
    if args.format == "yaml":
        from cc_core.workflow.file import relative_directory

        text = dump_workflow(spec, target, printed=target is None)
        folder = relative_directory(spec, target)
        if folder is not None and target is not None:
            note = f" (relative paths start from {folder}, the workflow's folder, as its 'directory:' says)"
    else:
        from cc_core.drawing.svg import workflow_svg

        text = workflow_svg(spec, jobs)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text, encoding="utf-8")
        sys.stderr.write(f"wrote {args.output}{note}\n")
    else:
        sys.stdout.write(text)
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    from cc_core.plugins.registry import get_registry

    registry = get_registry()
    rows = []
    for info in registry.plugins:
        row = {"name": info.name, "distribution": info.distribution, "version": info.version, "module": info.module,
               "provides": info.provides, "error": info.error}
        details = {}
        descriptions = {}
        for kind in info.provides.get("job types", []):
            cls = registry.job_types.find(kind)
            if cls is not None and cls.description:
                descriptions[kind] = cls.description
            try:
                from cc_core.settings import make_job_type

                facts = make_job_type(registry, kind).describe()
            except Exception as exc:  # noqa: BLE001 - a plugin's describe() must not break the listing
                facts = {"error": str(exc)}
            if facts:
                details[kind] = facts
        if details:
            row["details"] = details
        if descriptions:
            row["descriptions"] = descriptions
        rows.append(row)
    if args.json:
        _print_json(rows)
        return 0
    for row in rows:
        status = f"  BROKEN: {row['error']}" if row["error"] else ""
        sys.stdout.write(f"{row['distribution']} {row['version']} ({row['name']} = {row['module']}){status}\n")
        for label, names in row["provides"].items():
            sys.stdout.write(f"    {label}: {', '.join(names)}\n")
        for kind, text in row.get("descriptions", {}).items():
            sys.stdout.write(f"    {kind}: {text}\n")
        for kind, facts in row.get("details", {}).items():
            sys.stdout.write(f"    {kind}: {json.dumps(facts, default=str)}\n")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from cc_core.cache.diff import diff_runs

    run_a, run_b, found = diff_runs(args.a, args.b)
    if args.json:
        _print_json({"a": run_a.id, "b": run_b.id, "jobs": [d.to_json() for d in found]})
        return 0
    if not found:
        sys.stdout.write(f"runs {run_a.id} and {run_b.id}: no job differs\n")
        return 0
    sys.stdout.write(f"jobs that differ between run {run_a.id} and run {run_b.id}:\n")
    width = max(len(d.job) for d in found)
    for difference in found:
        sys.stdout.write(f"  {difference.job:<{width}}  {', '.join(difference.why)}\n")
    return 0


# ------------------------------------------------------------------------------------------------------ control
def cmd_kill(args: argparse.Namespace) -> int:
    from cc_core.running.control import kill

    outcome = kill(args.run, args.job)
    sys.stdout.write(outcome.message() + "\n")
    return 0 if outcome.killed else 1


def cmd_show_script(args: argparse.Namespace) -> int:
    from cc_core.home import open_store
    from cc_core.plugins.jobtype import Launch
    from cc_core.plugins.registry import get_registry
    from cc_core.running.runner import spec_from_data
    from cc_core.settings import make_job_type

    store = open_store()
    run = store.find_run(args.run)
    spec = spec_from_data(run.definition, run.workflow_dir)
    if args.job not in spec.jobs:
        from cc_core.errors import JobNotFoundError

        raise JobNotFoundError(f"run {run.id} has no job '{args.job}'")
    job = spec.jobs[args.job]
    job_type = make_job_type(get_registry(), job.kind)
    record = next(r for r in store.get_jobs(run.id) if r.name == job.name)
    attempt = max(record.attempt, 1)
    job_dir = Path(run.run_dir) / job.name
    launch = Launch(run.id, run.workflow, job, attempt, job_dir, spec.directory, job_dir / f"{job.name}.log",
                    {"CC_RUN_ID": str(run.id), "CC_JOB": job.name})
    text = job_type.show_script(launch)
    sys.stdout.write((text or f"job type '{job.kind}' has no script to show") + "\n")
    return 0


def _job_from_args(args: argparse.Namespace) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": args.name, "kind": args.kind, "host": args.host}
    for field_name in ("command", "script", "notebook"):
        if getattr(args, field_name):
            fields[field_name] = getattr(args, field_name)
    if args.depends:
        fields["depends"] = [d.strip() for d in args.depends.split(",") if d.strip()]
    return fields


def cmd_add_job(args: argparse.Namespace) -> int:
    from cc_core.workflow.dag import dependency_problems
    from cc_core.errors import Problem, WorkflowError
    from cc_core.home import open_store
    from cc_core.workflow.model import JobSpec
    from cc_core.running.runner import spec_from_data

    store = open_store()
    run = store.find_run(args.run)
    spec = spec_from_data(run.definition, run.workflow_dir)
    try:
        job = JobSpec(**_job_from_args(args))
    except Exception as exc:
        from cc_core.api import _pydantic_message

        raise WorkflowError([Problem(_pydantic_message(exc), job=args.name)]) from None
    if job.name in spec.jobs:
        raise WorkflowError([Problem("a job of this name is already in the run", job=job.name)])
    from cc_core.workflow.names import case_clashes

    for name, earlier in case_clashes([*spec.jobs, job.name])[-1:]:
        if name == job.name:
            raise WorkflowError([Problem(f"the run has a job '{earlier}', which differs only in upper/lower case",
                                         job=job.name)])
    problems = dependency_problems({**spec.jobs, job.name: job})
    if problems:
        raise WorkflowError(problems)
    _request(store, run, "add_job", {"job": job.model_dump()})
    sys.stdout.write(f"added job '{job.name}' to run {run.id}\n")
    return 0


def cmd_remove_job(args: argparse.Namespace) -> int:
    from cc_core.home import open_store

    store = open_store()
    run = store.find_run(args.run)
    _request(store, run, "remove_job", {"name": args.name})
    sys.stdout.write(f"asked run {run.id} to remove job '{args.name}'\n")
    return 0


def cmd_add_dependency(args: argparse.Namespace) -> int:
    from cc_core.home import open_store

    from cc_core.workflow.dag import dependency_problems
    from cc_core.errors import Problem, WorkflowError
    from cc_core.running.runner import spec_from_data

    store = open_store()
    run = store.find_run(args.run)
    spec = spec_from_data(run.definition, run.workflow_dir)
    for name in (args.parent, args.child):
        if name not in spec.jobs:
            raise WorkflowError([Problem(f"run {run.id} has no such job", job=name)])
    child = spec.jobs[args.child]
    jobs = {**spec.jobs, args.child: child.model_copy(update={"depends": [*child.depends, args.parent]})}
    problems = dependency_problems(jobs)
    if problems:
        raise WorkflowError(problems)
    _request(store, run, "add_dependency", {"parent": args.parent, "child": args.child})
    sys.stdout.write(f"asked run {run.id} to make '{args.child}' wait for '{args.parent}'\n")
    return 0


def cmd_remove_dependency(args: argparse.Namespace) -> int:
    from cc_core.home import open_store

    store = open_store()
    run = store.find_run(args.run)
    _request(store, run, "remove_dependency", {"parent": args.parent, "child": args.child})
    sys.stdout.write(f"asked run {run.id} to stop making '{args.child}' wait for '{args.parent}'\n")
    return 0


def _request(store: Any, run: Any, action: str, payload: dict[str, Any]) -> None:
    """Hand a change to the process driving the run and wait until it was applied, so that what ``ccw`` says
    next is true and the next command sees it (``add-job X`` then ``add-dependency X Y``)."""
    from cc_core.running.control import effective_state

    state = effective_state(run)
    if state.value != "running":
        raise CCError(f"run {run.id} is {state.value}; jobs can be changed only while it runs",
                      hint=f"resume it first: ccw run --resume {run.id}")
    request_id = store.add_request(run.id, action, payload)
    deadline = time.monotonic() + 30
    while any(r.id == request_id for r in store.pending_requests(run.id)):
        if time.monotonic() > deadline:
            raise CCError(f"run {run.id} did not take the change within 30 s; it may still do so",
                          hint=f"'ccw status {run.id}' shows whether it did")
        time.sleep(0.05)
    jobs = store.get_run(run.id).definition.get("jobs", {})
    applied = {
        "add_job": lambda: payload["job"]["name"] in jobs,
        "remove_job": lambda: payload["name"] not in jobs,
        "add_dependency": lambda: payload["parent"] in jobs.get(payload["child"], {}).get("depends", []),
        "remove_dependency": lambda: payload["parent"] not in jobs.get(payload["child"], {}).get("depends", []),
    }[action]()
    if not applied:
        raise CCError(f"run {run.id} refused the change ({action.replace('_', ' ')}): the job has started or "
                      "ended, or the change does not fit the run", hint=f"'ccw status {run.id}' shows its jobs")


# ------------------------------------------------------------------------------------------------------ parser
def _setting_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="change the workflow file as it is read, e.g. --set defaults.kind=slurm, "
                        "--set defaults.env.EPOCHS=1, --set 'jobs.train.args=[--lr, \"0.1\"]' (VALUE is YAML; "
                        "null takes a key out); checked like the file; may be given many times")
    p.add_argument("--override", action="append", default=[], metavar="FILE",
                   help="a YAML file shaped like the workflow file whose values are set the same way "
                        "(e.g. 'defaults: {kind: slurm, host: hpc}'), applied before --set")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ccw", description="cc: run workflows of jobs on this machine, SSH hosts, "
                                     "SLURM clusters and WSL, and follow them live.")
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("run", help="run a workflow file with live progress", description="Run a workflow file "
                       "(cc's YAML or cloudmesh-cc's) and follow it live. Exit code 0 when every job is done.")
    p.add_argument("file", nargs="?", help="workflow YAML file")
    p.add_argument("--scheduler", default="parallel", help="scheduler name (default: parallel; see ccw plugins)")
    p.add_argument("--max-parallel", "-j", type=_positive, default=None, metavar="N",
                   help="jobs at once, at least 1 (default: CPU count)")
    p.add_argument("--resume", metavar="RUN", help="continue a run whose runner died or detached")
    p.add_argument("--force", action="append", metavar="JOB", help="run JOB even if its cache has a result "
                   "(repeat, or JOB,JOB)")
    _follow_options(p)
    _setting_arguments(p)
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("rerun", help="continue a failed or killed run as a new run",
                       description="Continue a run that ended failed or killed as a new run linked to it: done jobs "
                                   "are carried over, failed, killed and skipped ones run again. The workflow file "
                                   "is read again, so: fix the script, rerun. Exit codes as for run.")
    p.add_argument("run", help="run id or workflow name (its latest run)")
    p.add_argument("--stored", action="store_true", help="use the definition as it was run, not the file as it is")
    p.add_argument("--jobs", action="append", metavar="JOB,...", help="run these jobs and everything below them "
                   "again, even if they were done")
    p.add_argument("--force", action="append", metavar="JOB", help="run JOB even if its cache has a result")
    p.add_argument("--max-parallel", "-j", type=_positive, default=None, metavar="N", help="jobs at once, at least 1")
    _follow_options(p)
    p.set_defaults(handler=cmd_rerun)

    p = sub.add_parser("diff", help="which jobs of two runs differ, and why",
                       description="Compare two runs job by job: definition, dependencies, script and input "
                                   "content (for jobs with the cache on), and parents that differ.")
    p.add_argument("a", help="run id or workflow name")
    p.add_argument("b", help="run id or workflow name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_diff)

    p = sub.add_parser("status", help="show a run's jobs", description="Show a run's jobs and states.")
    p.add_argument("run", nargs="?", help="run id or workflow name (latest run); none: list runs")
    p.add_argument("job", nargs="?", help="only this job")
    p.add_argument("--history", action="store_true", help="every state change with its time")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser("list", help="list runs", description="List runs, newest first.")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser("logs", help="print a job's log", description="Print a job's log (stdout and stderr).")
    p.add_argument("run", help="run id or workflow name")
    p.add_argument("job")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing as the job writes")
    p.add_argument("--attempt", type=int, default=None, help="an earlier attempt's log")
    p.set_defaults(handler=cmd_logs)

    p = sub.add_parser("validate", help="check a workflow file without running it",
                       description="Check a workflow file: every problem with its file, line and job.")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    _setting_arguments(p)
    p.set_defaults(handler=cmd_validate)

    p = sub.add_parser("export", help="write a run's workflow as YAML or SVG",
                       description="Export a run's workflow (or a workflow file) as YAML, or as an SVG graph "
                                   "coloured by the run's job states.")
    p.add_argument("run", help="run id, workflow name or workflow file")
    p.add_argument("--format", choices=["yaml", "svg"], default="yaml")
    p.add_argument("--output", "-o", help="file to write (default: standard output)")
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("plugins", help="list installed plugins", description="List plugins and what they provide.")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_plugins)

    p = sub.add_parser("progress", help="print a progress line (for a job's script to call)",
                       description="Print the line that reports a job's progress, e.g. "
                       "'# cc status=running progress=40 msg=\"epoch 2/5\"'. A job's script calls it where "
                       "cloudmesh-cc scripts call 'cms progress 40'; Python code calls cc_core.report_progress.")
    p.add_argument("progress", type=float, help="0 to 100")
    p.add_argument("--msg", "-m", default=None, help="a short message shown beside the progress bar")
    p.add_argument("--status", default="running", help="what the job says of itself (informational)")
    p.set_defaults(handler=cmd_progress)

    p = sub.add_parser("kill", help="kill a run or one job", description="Kill a run (or one job and skip its "
                       "descendants), whichever process drives it.")
    p.add_argument("run")
    p.add_argument("job", nargs="?")
    p.set_defaults(handler=cmd_kill)

    p = sub.add_parser("show-script", help="show what a job runs (e.g. its SLURM batch script)",
                       description="Show the script a job type submits for a job.")
    p.add_argument("run")
    p.add_argument("job")
    p.set_defaults(handler=cmd_show_script)

    p = sub.add_parser("add-job", help="add a job to a running run", description="Add a job to a run that goes on.")
    p.add_argument("run")
    p.add_argument("name")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--command")
    group.add_argument("--script")
    group.add_argument("--notebook")
    p.add_argument("--depends", help="comma-separated parent jobs")
    p.add_argument("--kind", default="local")
    p.add_argument("--host", default="localhost")
    p.set_defaults(handler=cmd_add_job)

    p = sub.add_parser("remove-job", help="remove a job that has not started from a running run")
    p.add_argument("run")
    p.add_argument("name")
    p.set_defaults(handler=cmd_remove_job)

    p = sub.add_parser("add-dependency", help="make a job of a running run wait for another")
    p.add_argument("run")
    p.add_argument("parent")
    p.add_argument("child")
    p.set_defaults(handler=cmd_add_dependency)

    p = sub.add_parser("remove-dependency", help="let a job of a running run stop waiting for another")
    p.add_argument("run")
    p.add_argument("parent")
    p.add_argument("child")
    p.set_defaults(handler=cmd_remove_dependency)
    return parser


def _follow_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the final status as JSON")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing; the exit code tells")
    p.add_argument("--no-live", action="store_true", help="print a line per finished job instead of a live table")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: at least 1 job must be able to run at once")
    return value


class _VersionAction(argparse.Action):
    """``--version``, which looks the version up only when asked (the lookup reads package metadata)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str = "show program's version number and exit") -> None:
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: Optional[str] = None) -> None:
        parser._print_message(f"ccw {_version()}\n", sys.stdout)
        parser.exit()


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("cc-core")
    except Exception:  # noqa: BLE001
        return "unknown"


BUILTIN_COMMANDS = frozenset({"run", "rerun", "diff", "status", "list", "logs", "validate", "export", "plugins", "kill",
                              "progress", "show-script", "add-job", "remove-job", "add-dependency",
                              "remove-dependency"})


def _builtin(argv: Sequence[str]) -> bool:
    return next((a for a in argv if not a.startswith("-")), None) in BUILTIN_COMMANDS


def _plugin_commands(parser: argparse.ArgumentParser, argv: Sequence[str]) -> None:
    """Add the sub-commands plugins contribute (only loaded when the command is not a built-in one)."""
    if _builtin(argv):
        return
    from cc_core.plugins.registry import get_registry

    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sorted(get_registry().commands.items()):
        p = sub.add_parser(name, help=command.help, description=command.help)
        command.configure(p)
        p.set_defaults(handler=command.run)


def main(argv: Optional[Sequence[str]] = None) -> int:
    if argv is None and gc.isenabled():   # the ccw process itself (not a caller in Python)
        _start_paused.append(True)
        gc.disable()   # until the command's long part starts: see _collect_from_here
    try:
        code = _main(list(sys.argv[1:] if argv is None else argv))
    finally:
        _collect_from_here()
    if argv is None and _builtin(sys.argv[1:]):
        _before_exit()
    return code


_start_paused: list[bool] = []   # main paused the collector for the start of the command
_STARTS_FIRST = frozenset({"run", "rerun"})   # commands that call _collect_from_here when their start is over


def _collect_from_here() -> None:
    """The start of the command is over: the cyclic garbage collector runs again from here on.

    Starting makes many objects and frees almost none (the imports, the workflow read, the run prepared), so the
    collector would only walk them again and again: about 10 ms of ``ccw run``'s start. What was made is frozen
    (left out of later collections: it lives until ``ccw`` exits anyway) and collecting starts again, so a long run
    frees its cycles as usual."""
    if _start_paused:
        _start_paused.clear()
        gc.freeze()
        gc.enable()


def _before_exit() -> None:
    """A built-in command is done and ``ccw`` exits next. Close the stores, as the interpreter's teardown would
    (SQLite then folds its write-ahead log back into cc.db), and freeze the heap: the teardown would otherwise walk
    and free every object the imports made, which takes about 40 ms, as long as the engine needs for 40 jobs."""
    store_module = sys.modules.get("cc_core.store.sqlite")
    if store_module is not None:
        store_module.SQLiteStore.close_all()
    gc.freeze()


def _main(argv: list[str]) -> int:
    parser = build_parser()
    try:
        _plugin_commands(parser, argv)
        args = parser.parse_args(argv)
        if args.command not in _STARTS_FIRST:
            _collect_from_here()
        if not getattr(args, "handler", None):
            parser.print_help()
            return 2
        return int(args.handler(args))
    except CCError as exc:
        sys.stderr.write(f"ccw: error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("ccw: interrupted\n")
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
