"""Property-based fuzzing of every endpoint from the OpenAPI document (schemathesis): no answer is a 5xx, and
every answer matches what the document promises. Kept small (few examples per operation) so it runs in seconds."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

try:
    import schemathesis
except ImportError:  # pragma: no cover - depends on the environment
    if os.environ.get("CI") == "true":
        raise  # under CI the fuzzing must run: a missing schemathesis is an error, not a skip
    pytest.skip("schemathesis is not installed (pip install schemathesis)", allow_module_level=True)

# A schema-valid body can still be a workflow that is not valid (its YAML text), so a 422 for it is right.
EXCLUDED = [schemathesis.checks.positive_data_acceptance]

SEED_WORKFLOW = "name: seeded\njobs:\n  a: {command: 'true'}\n  b: {command: 'true', depends: [a]}\n"


@pytest.fixture
def api_schema(store: Any, wait: Any) -> Any:
    """The app's own OpenAPI document, on a store that holds one workflow and one finished run. The ASGI
    client schemathesis uses calls itself 'testserver'; the guard is told to answer that name."""
    from cc_web.app import create_app
    from fastapi.testclient import TestClient

    app = create_app(store=store, allowed_hosts=["testserver", "127.0.0.1", "localhost"])
    api = TestClient(app, base_url="http://127.0.0.1")
    api.post("/api/workflows", json={"yaml": SEED_WORKFLOW})
    run_id = api.post("/api/runs", json={"workflow": "seeded"}).json()["id"]
    wait("the seed run to end", lambda: api.get(f"/api/runs/{run_id}").json()["state"] == "done")
    return schemathesis.openapi.from_asgi("/openapi.json", app)


# Read-only operations are also fuzzed on the seeded workflow and run, so queries (offsets, lengths, seqs) reach
# real records. Nothing that changes state is pointed at them: a fuzzed job could run fuzzed shell text.
SEEDED = {"name": "seeded", "run": "1", "job": "a", "parent": "a", "child": "b"}


@pytest.mark.parametrize("mode", ["positive", "negative", "seeded"])
def test_every_endpoint_answers_without_server_errors(api_schema: Any, mode: str) -> None:
    from collections import Counter

    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 25
    statuses: Counter[int] = Counter()
    for operation in operations:
        if mode == "negative" and not (len(operation.body) or len(operation.query)):
            continue  # a path of free-form names has no wrong value to send
        if mode == "seeded" and operation.method.upper() != "GET":
            continue
        names = [p.name for p in operation.path_parameters]
        strategy = operation.as_strategy(
            schemathesis.GenerationMode("positive" if mode == "seeded" else mode),
            path_parameters={n: SEEDED[n] for n in names} if mode == "seeded" and names else None)

        @given(case=strategy)
        @settings(max_examples=5, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                         HealthCheck.filter_too_much])
        def answers(case: Any) -> None:
            response = case.call()
            statuses[response.status_code] += 1
            assert response.status_code < 500, (f"{case.method} {case.formatted_path}: {response.status_code} "
                                                f"{response.text[:500]}")
            case.validate_response(response, excluded_checks=EXCLUDED)

        try:
            answers()
        except Unsatisfiable:  # an operation without parameters or body has no wrong input to send
            assert mode == "negative", operation.label
    assert sum(statuses.values()) >= 20
