"""The Python client of cc's analytics functions over REST::

    from cc_web.function_client import FunctionClient

    with FunctionClient("http://127.0.0.1:8765") as cc:
        cc.functions()                           # name, kind, JSON schema of the parameters
        metrics = cc.call("train", model="cnn")  # waits; the return value (a pickle download when not JSON)
        call = cc.submit("train", model="mlp")   # the call id at once; cc.call_state(call), cc.wait_call(call)

A call that raised raises :class:`cc_core.functions.errors.RemoteError` here, with the remote type, message and
traceback; a call that was killed, timed out or was lost raises :class:`cc_core.functions.errors.FunctionError`.
It is a :class:`cc_web.client.Client`, so runs, logs and workflows are at hand too.
"""

from __future__ import annotations

import pickle
import time
from typing import Any, Optional

from cc_web.client import Client

FINAL = ("done", "failed", "killed", "skipped")


class FunctionClient(Client):
    def functions(self) -> list[dict[str, Any]]:
        return self._call("GET", "/api/functions")  # type: ignore[no-any-return]

    def submit(self, name: str, **arguments: Any) -> str:
        """Start a call; its id (``RUN.JOB``)."""
        answer = self._call("POST", f"/api/functions/{self._ref(name)}/calls", json=arguments)
        return str(answer["id"])

    def call_state(self, call: str) -> dict[str, Any]:
        return self._call("GET", f"/api/calls/{self._ref(call)}")  # type: ignore[no-any-return]

    def wait_call(self, call: str, timeout: Optional[float] = None) -> Any:
        """Wait for a call to end; its return value, or raise what it raised."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.05
        while True:
            state = self.call_state(call)
            if state["state"] in FINAL:
                return self._outcome(state)
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"call {call} is still {state['state']} after {timeout} s")
            time.sleep(pause)
            pause = min(pause * 1.5, 1.0)

    def call(self, name: str, *, timeout: Optional[float] = None, **arguments: Any) -> Any:
        """Call function ``name`` with ``arguments`` and wait for its return value."""
        return self.wait_call(self.submit(name, **arguments), timeout=timeout)

    def _outcome(self, state: dict[str, Any]) -> Any:
        from cc_core.functions.errors import FunctionError, RemoteError

        if state["state"] == "done":
            if state.get("result_download"):
                response = self.http.get(state["result_download"])
                response.raise_for_status()
                return pickle.loads(response.content)
            return state.get("result")
        error = state.get("error") or {}
        run, job = state["run"], state["job"]
        if error.get("traceback") or (error.get("type") not in (None, "failed", "killed", "skipped")):
            found = RemoteError(f"call {job} of run {run} raised {error.get('type')}: {error.get('message')}",
                                run=run, job=job)
            found.remote_type, found.remote_message = str(error.get("type")), str(error.get("message"))
            found.remote_traceback = str(error.get("traceback") or "")
            raise found
        raise FunctionError(f"call {job} of run {run} {state['state']}: {state.get('reason') or ''}".rstrip(": "),
                            run=run, job=job)
