"""The REST API through httpx (FastAPI's TestClient) against the app on a real store and real local jobs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from cc_core.store.base import StatusStore

SLOW = """\
name: slow
jobs:
  sleeper:
    command: "echo started; sleep 30"
  after:
    command: "echo never"
    depends: [sleeper]
  other:
    command: "sleep 30"
"""


def upload(api: Any, text: str, **extra: Any) -> Any:
    response = api.post("/api/workflows", json={"yaml": text, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def start(api: Any, workflow: str, **extra: Any) -> int:
    response = api.post("/api/runs", json={"workflow": workflow, **extra})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def job_states(api: Any, run_id: int) -> dict[str, str]:
    return {j["name"]: j["state"] for j in api.get(f"/api/runs/{run_id}").json()["jobs"]}


# --------------------------------------------------------------------------------------------- workflows
def test_upload_json_lists_gets_exports_and_deletes(api: Any, two_jobs: str) -> None:
    detail = upload(api, two_jobs)
    assert detail["name"] == "pair"
    assert [j["name"] for j in detail["job_specs"]] == ["first", "second"]
    assert detail["dependencies"] == [{"parent": "first", "child": "second"}]

    listed = api.get("/api/workflows").json()
    assert [(w["name"], w["jobs"], w["description"]) for w in listed] == [("pair", 2, "two jobs, one after the other")]
    assert api.get("/api/workflows/pair").json()["yaml"] == two_jobs

    exported = api.get("/api/workflows/pair/yaml")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("application/yaml")
    assert exported.text == two_jobs
    svg = api.get("/api/workflows/pair/svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert "<svg" in svg.text and "first" in svg.text and "second" in svg.text
    layout = api.get("/api/workflows/pair/layout").json()
    assert {n["name"] for n in layout["nodes"]} == {"first", "second"}
    assert [(e["source"], e["target"]) for e in layout["edges"]] == [("first", "second")]

    assert api.delete("/api/workflows/pair").status_code == 204
    assert api.get("/api/workflows").json() == []
    missing = api.get("/api/workflows/pair")
    assert missing.status_code == 404 and missing.json()["error"] == "WorkflowNotFoundError"


def test_upload_json_name_overrides_the_yaml_name(api: Any, two_jobs: str) -> None:
    assert upload(api, two_jobs, name="renamed")["name"] == "renamed"
    assert api.get("/api/workflows/renamed").status_code == 200
    assert api.get("/api/workflows/pair").status_code == 404


def test_upload_multipart_file_with_scripts_runs_the_script(api: Any, store: StatusStore, cc_home: Path,
                                                            wait: Callable[..., Any]) -> None:
    text = "jobs:\n  hello:\n    script: hello.sh\n"
    script = b"#!/bin/sh\necho hello from an uploaded script\n"
    response = api.post("/api/workflows/upload",
                        files=[("file", ("uploaded.yaml", text.encode(), "application/yaml")),
                               ("scripts", ("hello.sh", script, "text/x-sh"))])
    assert response.status_code == 201, response.text
    detail = response.json()
    assert detail["name"] == "uploaded"           # from the file's name: the YAML has none
    assert Path(detail["directory"]) == cc_home / "workflows" / "uploaded"
    assert (cc_home / "workflows" / "uploaded" / "hello.sh").read_bytes() == script

    run_id = start(api, "uploaded")
    wait("the uploaded script's job to finish", lambda: job_states(api, run_id)["hello"] == "done")
    log = api.get(f"/api/runs/{run_id}/jobs/hello/log").json()
    assert log["text"] == "hello from an uploaded script\n"


def test_multipart_script_names_cannot_leave_the_workflow_folder(api: Any, cc_home: Path) -> None:
    text = b"name: sneaky\njobs:\n  a: {command: 'true'}\n"
    response = api.post("/api/workflows/upload",
                        files=[("file", ("w.yaml", text, "application/yaml")),
                               ("scripts", ("..", b"x", "text/plain"))])
    assert response.status_code == 422
    assert response.json()["problems"][0]["field"] == "scripts"
    response = api.post("/api/workflows/upload",
                        files=[("file", ("w.yaml", text, "application/yaml")),
                               ("scripts", ("../../escape.sh", b"echo", "text/plain"))])
    assert response.status_code == 201                 # only the base name is kept
    assert (cc_home / "workflows" / "sneaky" / "escape.sh").exists()
    assert not (cc_home / "escape.sh").exists() and not (cc_home.parent / "escape.sh").exists()


def test_invalid_workflow_is_422_naming_field_job_and_line(api: Any) -> None:
    text = "name: broken\njobs:\n  a:\n    command: 'true'\n    retries: many\n  b:\n    command: 'true'\n"
    response = api.post("/api/workflows", json={"yaml": text})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "WorkflowError"
    assert {"job": "a", "field": "retries", "line": 5}.items() <= body["problems"][0].items()

    cycle = "name: loop\njobs:\n  a: {command: 'true', depends: [b]}\n  b: {command: 'true', depends: [a]}\n"
    body = api.post("/api/workflows", json={"yaml": cycle}).json()
    assert "cycle" in body["problems"][0]["message"] and body["problems"][0]["field"] == "depends"

    kind = "name: k\njobs:\n  a: {command: 'true', kind: teleport}\n"
    problem = api.post("/api/workflows", json={"yaml": kind}).json()["problems"][0]
    assert (problem["job"], problem["field"], problem["line"]) == ("a", "kind", 3)

    bad_yaml = api.post("/api/workflows", json={"yaml": "jobs: [unclosed\n"})
    assert bad_yaml.status_code == 422 and "YAML" in bad_yaml.json()["message"]


def test_yaml_is_parsed_safely(api: Any) -> None:
    python_object = "name: evil\njobs:\n  a: !!python/object/apply:os.system ['touch /tmp/cc-owned']\n"
    assert api.post("/api/workflows", json={"yaml": python_object}).status_code == 422
    assert not Path("/tmp/cc-owned").exists()
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))
    response = api.post("/api/workflows", json={"yaml": laughs})
    assert response.status_code == 422 and "aliases" in response.json()["message"]
    deep = api.post("/api/workflows", json={"yaml": "jobs: " + "[" * 200 + "]" * 200})
    assert deep.status_code == 422 and "nests" in deep.json()["message"]
    deeper = api.post("/api/workflows", json={"yaml": "jobs: " + "[" * 50000 + "]" * 50000})
    assert deeper.status_code == 422


def test_jobs_and_dependencies_of_a_stored_workflow(api: Any, two_jobs: str) -> None:
    upload(api, two_jobs)
    added = api.post("/api/workflows/pair/jobs", json={"name": "third", "command": "echo 3"})
    assert added.status_code == 201 and added.json()["command"] == "echo 3"
    assert api.get("/api/workflows/pair/jobs/third").json()["command"] == "echo 3"
    duplicate = api.post("/api/workflows/pair/jobs", json={"name": "third", "command": "echo 3"})
    assert duplicate.status_code == 422 and duplicate.json()["problems"][0]["job"] == "third"
    no_payload = api.post("/api/workflows/pair/jobs", json={"name": "empty"})
    assert no_payload.status_code == 422

    assert api.post("/api/workflows/pair/dependencies", json={"parent": "second", "child": "third"}).status_code == 201
    assert api.get("/api/workflows/pair/jobs/third").json()["depends"] == ["second"]
    cycle = api.post("/api/workflows/pair/dependencies", json={"parent": "third", "child": "first"})
    assert cycle.status_code == 422 and "cycle" in cycle.json()["message"]
    unknown = api.post("/api/workflows/pair/dependencies", json={"parent": "nope", "child": "first"})
    assert unknown.status_code == 422 and unknown.json()["problems"][0]["job"] == "nope"

    assert api.delete("/api/workflows/pair/dependencies/second/third").status_code == 204
    assert api.get("/api/workflows/pair/jobs/third").json()["depends"] == []
    assert api.delete("/api/workflows/pair/dependencies/second/third").status_code == 404

    assert api.delete("/api/workflows/pair/jobs/first").status_code == 204   # and second's dependency on it
    detail = api.get("/api/workflows/pair").json()
    assert [j["name"] for j in detail["job_specs"]] == ["second", "third"]
    assert detail["dependencies"] == []
    assert api.get("/api/workflows/pair/jobs/first").status_code == 404


# --------------------------------------------------------------------------------------------- runs
def test_run_start_status_jobs_log_and_history(api: Any, two_jobs: str, wait: Callable[..., Any]) -> None:
    upload(api, two_jobs)
    run_id = start(api, "pair", scheduler="sequential", max_parallel=1)
    status = wait("the run to end", lambda: (s := api.get(f"/api/runs/{run_id}").json())["state"] == "done" and s)
    assert status["scheduler"] == "sequential"
    assert status["counts"] == {"done": 2}
    first = next(j for j in status["jobs"] if j["name"] == "first")
    assert first["exit_code"] == 0 and first["has_log"] and first["started"] <= first["ended"]
    assert api.get("/api/runs/pair").json()["id"] == run_id          # a workflow name means its latest run
    assert [r["id"] for r in api.get("/api/runs").json()] == [run_id]
    assert api.get("/api/runs", params={"workflow": "other"}).json() == []

    since = max(j["seq"] for j in status["jobs"])
    assert api.get(f"/api/runs/{run_id}/jobs", params={"since_seq": since}).json() == []
    assert len(api.get(f"/api/runs/{run_id}/jobs").json()) == 2

    detail = api.get(f"/api/runs/{run_id}/jobs/first").json()
    assert [t["state"] for t in detail["transitions"]][-1] == "done"
    assert detail["definition"]["command"].startswith("echo first")

    whole = api.get(f"/api/runs/{run_id}/jobs/first/log").json()
    assert whole["text"].startswith("first\n") and whole["final"] and whole["next_offset"] == whole["size"]
    part = api.get(f"/api/runs/{run_id}/jobs/first/log", params={"offset": 2, "length": 3}).json()
    assert (part["text"], part["offset"], part["next_offset"], part["final"]) == ("rst", 2, 5, False)
    past = api.get(f"/api/runs/{run_id}/jobs/first/log", params={"offset": 10**9}).json()
    assert past["text"] == "" and past["final"]
    assert api.get(f"/api/runs/{run_id}/jobs/first/log", params={"length": 0}).status_code == 422
    assert api.get(f"/api/runs/{run_id}/jobs/nope/log").status_code == 404

    layout = api.get(f"/api/runs/{run_id}/layout").json()
    assert {n["name"] for n in layout["nodes"]} == {"first", "second"}
    assert "<svg" in api.get(f"/api/runs/{run_id}/svg").text


def test_log_reads_keep_utf8_characters_whole(api: Any, wait: Callable[..., Any]) -> None:
    upload(api, "name: u\njobs:\n  a: {command: \"printf 'héllo wörld'\"}\n")
    run_id = start(api, "u")
    wait("the job to end", lambda: job_states(api, run_id)["a"] == "done")
    text, offset = "", 0
    while True:   # read two bytes at a time: 'é' must never be split
        chunk = api.get(f"/api/runs/{run_id}/jobs/a/log", params={"offset": offset, "length": 2}).json()
        assert "\ufffd" not in chunk["text"]
        text += chunk["text"]
        offset = chunk["next_offset"]
        if chunk["final"]:
            break
    assert text == "héllo wörld"


def test_kill_a_job_then_the_run(api: Any, wait: Callable[..., Any]) -> None:
    upload(api, SLOW)
    run_id = start(api, "slow")
    wait("both sleepers to run", lambda: job_states(api, run_id) == {"sleeper": "running", "after": "ready",
                                                                      "other": "running"})
    killed = api.post(f"/api/runs/{run_id}/jobs/sleeper/kill")
    assert killed.status_code == 202 and killed.json()["job"] == "sleeper"
    wait("the job to be killed", lambda: job_states(api, run_id)["sleeper"] == "killed")
    wait("its child to be skipped", lambda: job_states(api, run_id)["after"] == "skipped")
    assert job_states(api, run_id)["other"] == "running"

    assert api.post(f"/api/runs/{run_id}/jobs/nope/kill").status_code == 404
    assert api.post(f"/api/runs/{run_id}/kill").status_code == 202
    wait("the run to be killed", lambda: api.get(f"/api/runs/{run_id}").json()["state"] == "killed")
    assert job_states(api, run_id)["other"] == "killed"
    ended = api.post(f"/api/runs/{run_id}/jobs", json={"name": "late", "command": "true"})
    assert ended.status_code == 409 and ended.json()["error"] == "RunEndedError"


def test_add_a_job_to_a_run_that_is_going(api: Any, wait: Callable[..., Any]) -> None:
    upload(api, "name: grow\njobs:\n  base: {command: 'sleep 1'}\n")
    run_id = start(api, "grow")
    wait("the first job to run", lambda: job_states(api, run_id)["base"] == "running")
    added = api.post(f"/api/runs/{run_id}/jobs", json={"name": "extra", "command": "echo extra",
                                                         "depends": ["base"]})
    assert added.status_code == 202, added.text
    wait("the run to end", lambda: api.get(f"/api/runs/{run_id}").json()["state"] == "done")
    assert job_states(api, run_id) == {"base": "done", "extra": "done"}
    assert api.get(f"/api/runs/{run_id}/jobs/extra/log").json()["text"] == "extra\n"
    assert {n["name"] for n in api.get(f"/api/runs/{run_id}/layout").json()["nodes"]} == {"base", "extra"}


def test_a_killed_run_is_rerun_not_resumed(api: Any, wait: Callable[..., Any]) -> None:
    upload(api, "name: again\njobs:\n  a: {command: 'sleep 30'}\n")
    run_id = start(api, "again")
    wait("the job to run", lambda: job_states(api, run_id)["a"] == "running")
    running = api.post(f"/api/runs/{run_id}/resume")
    assert running.status_code == 409 and running.json()["error"] == "RunLockedError"
    api.post(f"/api/runs/{run_id}/kill")
    wait("the run to be killed", lambda: api.get(f"/api/runs/{run_id}").json()["state"] == "killed")
    resumed = api.post(f"/api/runs/{run_id}/resume")     # resume follows a run whose runner died; this one ended
    assert resumed.status_code == 409 and resumed.json()["error"] == "RunEndedError"
    assert f"ccw rerun {run_id}" in resumed.json()["message"] + str(resumed.json().get("hint"))
    rerun = api.post(f"/api/runs/{run_id}/rerun", json={})
    assert rerun.status_code == 202 and rerun.json()["rerun_of"] == run_id
    api.post(f"/api/runs/{rerun.json()['run']}/kill")


def test_start_errors(api: Any, two_jobs: str) -> None:
    assert api.post("/api/runs", json={"workflow": "missing"}).status_code == 404
    upload(api, two_jobs)
    unknown = api.post("/api/runs", json={"workflow": "pair", "scheduler": "lottery"})
    assert unknown.status_code == 422 and "lottery" in unknown.json()["message"]
    assert api.post("/api/runs", json={"workflow": "pair", "max_parallel": 0}).status_code == 422
    upload(api, "name: noscript\njobs:\n  a: {script: missing.sh}\n")
    missing = api.post("/api/runs", json={"workflow": "noscript"})
    assert missing.status_code == 422
    assert (missing.json()["problems"][0]["job"], missing.json()["problems"][0]["field"]) == ("a", "script")
    for path in ("/api/runs/12345", "/api/runs/12345/layout", "/api/runs/12345/events"):
        assert api.get(path).status_code == 404, path
    assert api.post("/api/runs/12345/kill").status_code == 404


def test_log_outside_cc_home_is_refused(api: Any, store: StatusStore, two_jobs: str, tmp_path: Path,
                                        wait: Callable[..., Any]) -> None:
    upload(api, two_jobs)
    run_id = start(api, "pair")
    wait("the run to end", lambda: api.get(f"/api/runs/{run_id}").json()["state"] == "done")
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the web")
    job = next(j for j in store.get_jobs(run_id) if j.name == "first")
    for path in (str(secret), os.path.join(os.environ["CC_HOME"], "..", "secret.txt")):
        job.log_path = path
        store.write(None, [job], [])
        response = api.get(f"/api/runs/{run_id}/jobs/first/log")
        assert response.status_code == 403, path
        assert "not for the web" not in response.text


def test_plugins_and_schedulers(api: Any) -> None:
    plugins = {p["name"]: p for p in api.get("/api/plugins").json()}
    assert plugins["web"]["distribution"] == "cc-plugin-web"
    assert plugins["web"]["provides"] == {"commands": ["serve"]}
    assert "local" in plugins
    assert {"parallel", "sequential"} <= {s["name"] for s in api.get("/api/schedulers").json()}


def test_nothing_that_changes_state_is_a_get(app: Any) -> None:
    schema = app.openapi()
    for path, operations in schema["paths"].items():
        if "get" in operations:
            assert not any(word in path for word in ("kill", "resume", "upload")), path
    assert set(schema["paths"]["/api/runs/{run}/kill"]) == {"post"}
    assert "multipart/form-data" in schema["paths"]["/api/workflows/upload"]["post"]["requestBody"]["content"]


def test_stopping_the_service_detaches_its_runs_and_resume_finishes_them(store: StatusStore,
                                                                          wait: Callable[..., Any]) -> None:
    from fastapi.testclient import TestClient

    from cc_web.app import create_app

    with TestClient(create_app(store=store), base_url="http://127.0.0.1") as first:
        upload(first, "name: outlive\njobs:\n  a: {command: 'sleep 1; echo survived'}\n  b: {command: 'echo b', "
                      "depends: [a]}\n")
        run_id = start(first, "outlive")
        wait("the job to run", lambda: job_states(first, run_id)["a"] == "running")
    assert store.get_run(run_id).state.value == "detached"           # the service stopped; the job went on
    with TestClient(create_app(store=store), base_url="http://127.0.0.1") as second:
        assert second.post(f"/api/runs/{run_id}/resume").status_code == 202
        wait("the resumed run to end", lambda: second.get(f"/api/runs/{run_id}").json()["state"] == "done")
        assert job_states(second, run_id) == {"a": "done", "b": "done"}
        assert second.get(f"/api/runs/{run_id}/jobs/a/log").json()["text"] == "survived\n"
