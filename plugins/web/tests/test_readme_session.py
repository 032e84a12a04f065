"""The README's curl session, run as written against a real ``ccw serve`` (only the address is this test's own)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from cc_core.testing.polling import ccw_command, wait_for

README = Path(__file__).resolve().parents[3] / "README.md"


def curl_session() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("The same from any language, over HTTP")
    block = re.search(r"```sh\n(.*?)```", text[start:], re.S)
    assert block is not None
    return block.group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_readme_curl_session_runs_as_written(tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("curl is needed for the README's session")
        pytest.skip("curl is not installed")
    port = free_port()
    env = {**os.environ, "CC_HOME": str(tmp_path / "home")}
    server = subprocess.Popen(ccw_command("serve", "--port", str(port)), env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    try:
        import httpx

        def up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/api/runs", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, timeout=30, what="ccw serve to answer")
        script = curl_session().replace("B=http://127.0.0.1:8765", f"B=http://127.0.0.1:{port}")
        work = tmp_path / "session"
        work.mkdir()
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=work, env=env, capture_output=True,
                                text=True, timeout=120)
        unknown = httpx.post(f"http://127.0.0.1:{port}/api/runs", json={"workflow": "nope"}, timeout=10)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    final = json.loads(result.stdout.strip().splitlines()[-1])
    assert final["state"] == "killed"
    assert {j["name"]: j["state"] for j in final["jobs"]} == {"fetch": "done", "clean": "killed",
                                                                "report": "skipped"}
    assert "part 3" in result.stdout   # the progress messages came through the event stream
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "WorkflowNotFoundError"
    assert "there is no stored workflow named 'nope'" in unknown.json()["message"]
