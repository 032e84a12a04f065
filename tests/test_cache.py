"""The cache against real processes: an unchanged second run starts no job; the cache's copy of a job folder never
changes; a changed script or input reruns that job and what is below it; runs at once do not mix their copies;
--force; ccw diff; a store of the older schema is brought up to date."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Callable

from cc_core.home import open_store
from cc_core.testing.polling import ccw_command

Ccw = Callable[..., subprocess.CompletedProcess[str]]


def ledger_lines(ledger: Path) -> list[str]:
    return ledger.read_text().split() if ledger.exists() else []


def script_chain(write_workflow: Callable[..., Path], ledger: Path) -> Path:
    """s1 -> s2 -> s3 and s2 -> s5, s4 alone, x reads data.txt, y below x; every job a script that writes the
    ledger and a file of its own."""
    jobs = {"s1": [], "s2": ["s1"], "s3": ["s2"], "s4": [], "s5": ["s2"], "x": [], "y": ["x"]}
    lines = ["name: cached", "cache: true", "jobs:"]
    scripts = {}
    for name, parents in jobs.items():
        lines.append(f"  {name}:")
        lines.append(f"    script: {name}.sh")
        lines.append(f"    env: {{LEDGER: '{ledger}'}}")
        if parents:
            lines.append(f"    depends: [{', '.join(parents)}]")
        if name == "x":
            lines.append("    inputs: [data.txt]")
        scripts[f"{name}.sh"] = f'echo "$CC_JOB" >> "$LEDGER"\necho "{name} v1" > result.txt\n'
    scripts["data.txt"] = "first data\n"
    return write_workflow("\n".join(lines) + "\n", **scripts)


def run_json(ccw: Ccw, *args: str) -> dict:
    result = ccw("run", *args, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_unchanged_run_starts_no_job_and_changes_rerun_only_what_is_below(
        ccw: Ccw, cc_home: Path, tmp_path: Path, write_workflow: Callable[..., Path]) -> None:
    ledger = tmp_path / "ledger"
    path = script_chain(write_workflow, ledger)
    first = run_json(ccw, str(path))
    assert sorted(ledger_lines(ledger)) == ["s1", "s2", "s3", "s4", "s5", "x", "y"]

    result = ccw("run", str(path), "--no-live")
    assert result.returncode == 0, result.stderr
    assert len(ledger_lines(ledger)) == 7                      # no job process started
    assert result.stdout.count(": s1 done (cached)") == 1 and "run 2 done: 7 done (cached)" in result.stdout
    second = open_store().get_jobs(int(result.stdout.split()[1].rstrip(":")))
    for job in second:
        assert job.state.value == "done" and job.attempt == 0
        assert job.origin == {"how": "cached", "run": first["id"], "job": job.name, "attempt": 1}
        assert (Path(job.log_path or "").parent / "result.txt").read_text() == f"{job.name} v1\n"

    svg = ccw("export", str(second[0].run_id), "--format", "svg", check=True).stdout
    assert svg.count('class="job state-done__cached_"') == 7    # drawn apart from jobs that ran

    (path.parent / "s2.sh").write_text('echo "$CC_JOB" >> "$LEDGER"\necho "s2 v2" > result.txt\n')
    third = run_json(ccw, str(path))
    assert sorted(ledger_lines(ledger)[7:]) == ["s2", "s3", "s5"]
    (path.parent / "data.txt").write_text("second data\n")
    fourth = run_json(ccw, str(path))
    assert sorted(ledger_lines(ledger)[10:]) == ["x", "y"]
    assert {j["name"] for j in fourth["jobs"] if j["origin"] is None} == {"x", "y"}

    diff = json.loads(ccw("diff", str(first["id"]), str(fourth["id"]), "--json", check=True).stdout)
    why = {d["job"]: d["why"] for d in diff["jobs"]}
    assert why == {"s2": ["script content"], "s3": ["parent s2"], "s5": ["parent s2"], "x": ["input content"],
                   "y": ["parent x"]}
    assert "s2  script content" in ccw("diff", str(first["id"]), str(third["id"]), check=True).stdout

    forced = run_json(ccw, str(path), "--force", "s4")
    assert ledger_lines(ledger)[12:] == ["s4"]
    assert [j["name"] for j in forced["jobs"] if j["origin"] is None] == ["s4"]
    rerun = ccw("rerun", str(forced["id"]), "--jobs", "s2", "--json")   # --jobs runs them, cache or not
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(ledger_lines(ledger)[13:]) == ["s2", "s3", "s5"]


def test_a_later_job_appending_to_a_cached_file_leaves_the_cache_copy_unchanged(
        ccw: Ccw, cc_home: Path, tmp_path: Path, write_workflow: Callable[..., Path]) -> None:
    path = write_workflow("""
        name: appends
        jobs:
          make: {command: 'echo made > out.txt', cache: true}
          add: {command: 'echo "added by $CC_RUN_ID" >> "$CC_RUN_DIR/make/out.txt"', depends: [make]}
    """)
    first = run_json(ccw, str(path))
    first_file = Path(first["run_dir"]) / "make" / "out.txt"
    assert first_file.read_text() == f"made\nadded by {first['id']}\n"
    (make,) = [j for j in open_store().get_jobs(first["id"]) if j.name == "make"]
    kept = Path(make.cache_copy or "") / "out.txt"
    assert kept.read_text() == "made\n"                        # kept before its child ran

    second = run_json(ccw, str(path))
    assert {j["name"]: (j["origin"] or {}).get("how") for j in second["jobs"]} == {"make": "cached", "add": None}
    assert (Path(second["run_dir"]) / "make" / "out.txt").read_text() == f"made\nadded by {second['id']}\n"
    assert kept.read_text() == "made\n"
    assert first_file.read_text() == f"made\nadded by {first['id']}\n"
    assert not (Path(second["run_dir"]) / "make").is_symlink()


def test_two_runs_at_once_keep_their_cached_copies_apart(cc_home: Path, ccw: Ccw, tmp_path: Path,
                                                         write_workflow: Callable[..., Path]) -> None:
    path = write_workflow("""
        name: together
        cache: true
        jobs:
          make: {command: 'for i in $(seq 200); do echo "line $i"; done > out.txt'}
          add:
            command: 'for i in $(seq 50); do echo "run $CC_RUN_ID" >> "$CC_RUN_DIR/make/out.txt"; done'
            depends: [make]
            cache: false
    """)
    first = run_json(ccw, str(path))
    env = {**os.environ, "CC_HOME": str(cc_home)}
    runners = [subprocess.Popen(ccw_command("run", str(path), "--json"), env=env, stdout=subprocess.PIPE,
                                text=True) for _ in range(2)]
    outputs = [json.loads(r.communicate(timeout=120)[0]) for r in runners]
    made = "".join(f"line {i}\n" for i in range(1, 201))
    for run in outputs:
        assert run["state"] == "done"
        assert {j["name"]: (j["origin"] or {}).get("how") for j in run["jobs"]} == {"make": "cached", "add": None}
        assert (Path(run["run_dir"]) / "make" / "out.txt").read_text() == made + f"run {run['id']}\n" * 50
    assert (Path(first["run_dir"]) / "make" / "out.txt").read_text() == made + f"run {first['id']}\n" * 50


def test_a_store_of_the_older_schema_is_migrated(cc_home: Path) -> None:
    from cc_core.store.sqlite import SCHEMA, SCHEMA_VERSION

    cc_home.mkdir(parents=True)
    conn = sqlite3.connect(cc_home / "cc.db")
    conn.executescript(SCHEMA)
    conn.execute("INSERT INTO runs (workflow, state, scheduler, definition, workflow_dir, run_dir, created, options, "
                 "seq) VALUES ('old', 'done', 'parallel', '{\"name\": \"old\", \"jobs\": {}}', '/', '/', 1, '{}', 1)")
    conn.execute("INSERT INTO jobs (run_id, name, kind, host, ord, state, attempt, log_offset, seq) VALUES "
                 "(1, 'a', 'local', 'localhost', 0, 'done', 1, 0, 1)")
    conn.commit()
    conn.close()
    store = open_store()
    assert store.get_run(1).rerun_of is None
    (job,) = store.get_jobs(1)
    assert job.state.value == "done" and job.origin is None and job.cache_key is None
    conn = sqlite3.connect(cc_home / "cc.db")
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_a_wrong_cache_setting_is_named_with_its_line(ccw: Ccw, write_workflow: Callable[..., Path]) -> None:
    path = write_workflow("name: bad\ncache: 5\njobs:\n  a: {command: 'true', cache: []}\n")
    result = ccw("validate", str(path))
    assert result.returncode == 2
    assert f"{path}:2: 'cache' is true, false or a key string" in result.stderr
    assert f"{path}:4: job 'a': field 'cache'" in result.stderr


def test_a_registered_key_part_decides_too(cc_home: Path, tmp_path: Path, monkeypatch) -> None:
    from cc_core import Workflow, diff_runs
    from cc_core.cache import key

    spec_of_env = {"value": "numpy==2.0"}
    monkeypatch.setitem(key._EXTRA_PARTS, "environment", lambda job, folder: spec_of_env["value"])
    ledger = tmp_path / "ledger"
    wf = Workflow("parts", directory=tmp_path)
    wf.add_job("a", command=f"echo a >> {ledger}", cache=True)
    runs = []
    for value in ("numpy==2.0", "numpy==2.0", "numpy==2.1"):
        spec_of_env["value"] = value
        assert wf.run(timeout=60).value == "done"
        runs.append(wf.run_id)
    assert ledger.read_text() == "a\na\n"                 # the unchanged part: cached; the changed one: ran
    _, _, found = diff_runs(runs[0], runs[2])
    assert [(d.job, d.why) for d in found] == [("a", ["environment"])]
