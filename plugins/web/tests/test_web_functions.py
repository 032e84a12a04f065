"""Analytics functions over REST: the catalogue from the settings file and a plugin, a call with the Python
client and with curl against a real uvicorn server, a bad body (422 naming the field), a remote error, a result
that is not JSON, and the call visible as a run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from cc_core.store.base import StatusStore

MODULE = '''
from typing import Literal


def train(model: Literal["mlp", "cnn"], epochs: int = 3) -> dict:
    """Train a model and say how well it did."""
    return {"model": model, "score": epochs * 10}


def fails(x: int) -> int:
    raise ValueError(f"bad {x}")


def numbers(n: int) -> set:
    return set(range(n))


def secret() -> str:
    return "never offered"
'''


@pytest.fixture
def offered(cc_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "rest_models.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(folder))
    (cc_home / "config.yaml").write_text(textwrap.dedent("""
        functions: [rest_models:train, rest_models:fails, rest_models:numbers]
    """))
    yield folder
    sys.modules.pop("rest_models", None)


def test_functions_are_listed_with_a_schema_and_called(offered: Path, serve: Callable[..., Any],
                                                       store: StatusStore) -> None:
    from cc_core.functions.errors import RemoteError
    from cc_web.function_client import FunctionClient

    server = serve()
    with FunctionClient(server.url) as cc:
        listed = {f["name"]: f for f in cc.functions()}
        assert set(listed) == {"train", "fails", "numbers"}
        schema = listed["train"]["parameters"]
        assert schema["required"] == ["model"] and schema["properties"]["model"]["enum"] == ["mlp", "cnn"]
        assert listed["train"]["description"] == "Train a model and say how well it did."

        assert cc.call("train", model="cnn", epochs=5, timeout=60) == {"model": "cnn", "score": 50}
        assert cc.call("numbers", n=3, timeout=60) == {0, 1, 2}          # not JSON: a download
        with pytest.raises(RemoteError) as caught:
            cc.call("fails", x=4, timeout=60)
        assert caught.value.remote_type == "ValueError" and "bad 4" in caught.value.remote_traceback

        bad = cc.http.post("/api/functions/train/calls", json={"model": "rnn"})
        assert bad.status_code == 422 and "model" in bad.json()["message"]
        unknown = cc.http.post("/api/functions/train/calls", json={"model": "mlp", "colour": "red"})
        assert unknown.status_code == 422 and "colour" in unknown.json()["message"]
        assert cc.http.post("/api/functions/secret/calls", json={}).status_code == 404
        assert cc.http.post("/api/functions/rest_models:secret/calls", json={}).status_code == 404

        call = cc.submit("train", model="mlp")
        state = cc.call_state(call)
        assert state["function"] == "rest_models:train" and state["state"] in ("ready", "queued", "running", "done")
        assert cc.wait_call(call, timeout=60) == {"model": "mlp", "score": 30}
        run = store.get_run(int(call.split(".")[0]))
        assert run.workflow == "call-train" and run.state.value == "done"

    curl = shutil.which("curl")
    if curl is None:
        if os.environ.get("CI") == "true":
            pytest.fail("curl is not installed")
        pytest.skip("curl is not installed")
    answer = subprocess.run([curl, "-s", "-H", "content-type: application/json", "-d", '{"model": "cnn"}',
                             f"{server.url}/api/functions/train/calls"], capture_output=True, text=True, timeout=30)
    accepted = json.loads(answer.stdout)
    from cc_core.testing.polling import wait_for

    def final() -> Any:
        got = json.loads(subprocess.run([curl, "-s", f"{server.url}/api/calls/{accepted['id']}"],
                                        capture_output=True, text=True, timeout=30).stdout)
        return got if got["state"] == "done" else None
    assert wait_for(final, timeout=60, what="the curl call to end")["result"] == {"model": "cnn", "score": 30}
    status = subprocess.run([sys.executable, "-m", "cc_core", "status", str(accepted["run"]), "--json"],
                            capture_output=True, text=True, timeout=60)
    assert '"rest_models:train"' in status.stdout or "call-train" in status.stdout


def test_a_plugin_registers_a_function(cc_home: Path, api: Any) -> None:
    from cc_core import function
    from cc_core.plugins.hookspecs import hookimpl
    from cc_core.plugins.registry import build_registry, reset_registry

    @function(retries=1)
    def add(a: int, b: int = 1) -> int:
        return a + b

    class Plugin:
        @staticmethod
        @hookimpl
        def cc_register_functions(register):  # type: ignore[no-untyped-def]
            register(add, name="add")

    reset_registry(build_registry(extra_plugins=[("adder", Plugin())]))
    try:
        listed = api.get("/api/functions").json()
        assert [f["name"] for f in listed] == ["add"] and listed[0]["parameters"]["required"] == ["a"]
        accepted = api.post("/api/functions/add/calls", json={"a": 2})
        assert accepted.status_code == 202
        from cc_core.testing.polling import wait_for

        done = wait_for(lambda: (lambda s: s if s["state"] == "done" else None)(
            api.get(f"/api/calls/{accepted.json()['id']}").json()), timeout=60, what="the call to end")
        assert done["result"] == 3
    finally:
        reset_registry()


def test_the_token_rules_hold_for_functions(offered: Path, serve: Callable[..., Any]) -> None:
    import httpx

    server = serve(token="s3cret")
    assert httpx.get(f"{server.url}/api/functions").status_code == 401
    assert httpx.post(f"{server.url}/api/functions/train/calls", json={"model": "mlp"}).status_code == 401
    listed = httpx.get(f"{server.url}/api/functions", headers={"authorization": "Bearer s3cret"})
    assert listed.status_code == 200 and {f["name"] for f in listed.json()} == {"train", "fails", "numbers"}
