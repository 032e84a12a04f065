"""schemathesis over the service's own OpenAPI document, with every check (a 5xx, an answer or status the document
does not promise, a schema-valid request refused, a schema-breaking one accepted, a wrong ``Allow``, the stateful
checks that follow links between operations): zero failures.

The service runs in a process of its own, as ``ccw serve`` does, with a throwaway CC_HOME and only the local job
type loaded, so no fuzzed workflow can make a job that reaches for the network: an ssh or slurm kind is refused
as not installed, and a local job runs on this machine whatever ``host`` it names.
Read-only operations are pointed at a seeded workflow and run, so their queries reach real records. Examples per
operation are capped so the whole run takes seconds.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest

ONLY_LOCAL = "local,schedulers,sqlite,progress,web"
SEED_WORKFLOW = "name: seeded\njobs:\n  a: {command: 'echo seeded'}\n  b: {command: 'true', depends: [a]}\n"

# A schema cannot say which YAML is a valid workflow (a cycle, a dependency on a job that does not exist), so a
# schema-valid body may still be answered 422 naming the problem; everything else the document says is checked.
CONFIG = """\
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "404", "409", "422"]

[[operations]]
include-method = "GET"
parameters = { "path.name" = "seeded", "path.run" = "1", "path.job" = "a" }
"""

SERVE = "import sys, uvicorn\nfrom cc_web.app import create_app\n" \
        "uvicorn.run(create_app(), host='127.0.0.1', port=int(sys.argv[1]), log_level='warning')\n"


def _schemathesis() -> str:
    found = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")
    if not Path(found).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("schemathesis is not installed (CI=true: the fuzzing must run)")
        pytest.skip("schemathesis is not installed (pip install schemathesis)")
    return found


@pytest.fixture
def fuzzed_service(tmp_path: Path, wait: Callable[..., Any]) -> Iterator[tuple[str, Path]]:
    home = tmp_path / "home"
    home.mkdir()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "CC_HOME": str(home), "CC_LOAD_PLUGINS": ONLY_LOCAL}
    env.pop("CC_TOKEN", None)
    log = open(tmp_path / "server.log", "w")
    process = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        def answers() -> bool:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            try:
                return httpx.get(f"{url}/api/plugins", timeout=1).status_code == 200
            except httpx.TransportError:
                return False
        wait("the service to answer", answers, timeout=30)
        kinds = [p for p in httpx.get(f"{url}/api/plugins").json() if p["provides"].get("job types")]
        assert [k["provides"]["job types"] for k in kinds] == [["local"]]
        assert httpx.post(f"{url}/api/workflows", json={"yaml": SEED_WORKFLOW}).status_code == 201
        run = httpx.post(f"{url}/api/runs", json={"workflow": "seeded"}).json()
        wait("the seed run to end", lambda: httpx.get(f"{url}/api/runs/{run['id']}").json()["state"] == "done")
        yield url, tmp_path
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


def test_schemathesis_every_check_including_stateful_finds_nothing(fuzzed_service: tuple[str, Path]) -> None:
    url, folder = fuzzed_service
    (folder / "schemathesis.toml").write_text(CONFIG)
    done = subprocess.run([_schemathesis(), "run", f"{url}/openapi.json", "--checks", "all", "--max-examples", "5",
                           "--generation-deterministic", "--workers", "1"],
                          cwd=folder, capture_output=True, text=True, timeout=240)
    report = done.stdout[-6000:] + done.stderr[-2000:]
    assert done.returncode == 0, report
    for phase in ("Coverage", "Fuzzing", "Stateful"):
        assert f"✅ {phase}" in done.stdout, report
    assert "Traceback" not in (folder / "server.log").read_text()
    runs = httpx.get(f"{url}/api/runs?limit=1000").json()
    for run in runs:   # whatever the fuzzing started ran only local jobs, which run here whatever host they name
        jobs = httpx.get(f"{url}/api/runs/{run['id']}").json()["jobs"]
        assert {j["kind"] for j in jobs} <= {"local"}, run
