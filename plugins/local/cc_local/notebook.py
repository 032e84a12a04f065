"""Run a Jupyter notebook as a job: ``python -m cc_local.notebook IN.ipynb OUT.ipynb '{"param": 1}'``.

Parameters are injected as a cell after the cell tagged ``parameters`` (or at the top). Each cell's output is
printed as it completes, so the job's log shows it, and after each cell a progress line reports how far the
notebook is. A cell that raises fails the job (exit code 1) and the executed notebook is still written.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _inject(nb: Any, parameters: dict[str, Any]) -> None:
    import nbformat

    if not parameters:
        return
    source = "# Parameters injected by cc\n" + "\n".join(f"{k} = {v!r}" for k, v in parameters.items())
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["injected-parameters"]
    index = 0
    for i, existing in enumerate(nb.cells):
        if "parameters" in existing.get("metadata", {}).get("tags", []):
            index = i + 1
            break
    nb.cells.insert(index, cell)


def _print_outputs(cell: Any) -> None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            text = output.get("text", "")
            (sys.stdout if output.get("name") == "stdout" else sys.stderr).write(text)
        elif output.get("output_type") == "error":
            sys.stderr.write("\n".join(output.get("traceback", [])) + "\n")
    sys.stdout.flush()
    sys.stderr.flush()


def main(argv: list[str]) -> int:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    source, target = argv[0], argv[1]
    parameters = json.loads(argv[2]) if len(argv) > 2 and argv[2] else {}
    nb = nbformat.read(source, as_version=4)
    _inject(nb, parameters)
    kernel = nb.metadata.get("kernelspec", {}).get("name") or "python3"
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    total = max(1, len(code_cells))
    done = 0

    def on_cell_executed(cell: Any, **_: Any) -> None:
        nonlocal done
        _print_outputs(cell)
        if cell.cell_type == "code":
            done += 1
            print(f"# cc status=running progress={100 * done // total}", flush=True)

    client = NotebookClient(nb, timeout=None, kernel_name=kernel, resources={"metadata": {"path": "."}})
    client.on_cell_executed = on_cell_executed
    try:
        client.execute()
        return 0
    except CellExecutionError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    finally:
        nbformat.write(nb, target)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
