"""The plugin system: entry points, built-ins through the same path, broken and duplicate plugins, docs."""

from __future__ import annotations

import inspect
import re
import sys
import types
from pathlib import Path

import pytest

from cc_core.plugins import hookspecs
from cc_core.errors import PluginError, UnknownNameError
from cc_core.plugins.hookspecs import hookimpl
from cc_core.plugins.registry import build_registry
from cc_core.plugins.scheduler import ReadyJob, Scheduler, Slots

DOCS = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"


class FirstReady(Scheduler):
    name = "first-ready"

    def select(self, ready, slots):  # type: ignore[no-untyped-def]
        return [next(iter(ready))] if not slots.total else []


class ThirdPartyPlugin:
    @staticmethod
    @hookimpl
    def cc_register_schedulers(register):  # type: ignore[no-untyped-def]
        register(FirstReady)


def test_builtins_come_through_entry_points() -> None:
    registry = build_registry()
    dists = {p.distribution for p in registry.plugins}
    assert {"cc-core", "cc-plugin-local", "cc-plugin-schedulers"} <= dists
    assert registry.job_types.owners["local"] == "cc-plugin-local"
    assert registry.schedulers.owners["parallel"] == "cc-plugin-schedulers"
    assert registry.stores.owners["sqlite"] == "cc-core"
    assert set(registry.progress_parsers.names()) >= {"cc", "cloudmesh"}


def test_third_party_scheduler_registers_like_builtins() -> None:
    registry = build_registry(extra_plugins=[("my-scheduler", ThirdPartyPlugin())])
    scheduler = registry.schedulers.get("first-ready")
    assert scheduler is FirstReady
    chosen = scheduler(None).select(iter([ReadyJob("a", "local", "h", 0), ReadyJob("b", "local", "h", 1)]),  # type: ignore[arg-type]
                                    Slots())
    assert [j.name for j in chosen] == ["a"]


def test_duplicate_name_is_an_error_naming_both() -> None:
    class Parallel(FirstReady):
        name = "parallel"

    class Clash:
        @staticmethod
        @hookimpl
        def cc_register_schedulers(register):  # type: ignore[no-untyped-def]
            register(Parallel)

    with pytest.raises(PluginError) as info:
        build_registry(extra_plugins=[("clashing-dist", Clash())])
    assert "'parallel'" in str(info.value) and "cc-plugin-schedulers" in str(info.value)
    assert "clashing-dist" in str(info.value)


def test_broken_plugin_is_reported_and_others_load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from importlib import metadata

    broken = tmp_path / "broken_dist-1.0.dist-info"
    broken.mkdir()
    (broken / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-dist\nVersion: 1.0\n")
    (broken / "entry_points.txt").write_text("[cc]\nbroken = cc_no_such_module_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    metadata_dists = list(metadata.distributions())
    assert any(d.metadata["Name"] == "broken-dist" for d in metadata_dists)
    registry = build_registry()
    broken_info = [p for p in registry.plugins if p.distribution == "broken-dist"]
    assert broken_info and "ModuleNotFoundError" in (broken_info[0].error or "")
    assert "local" in registry.job_types.names()


def test_disable_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC_DISABLE_PLUGINS", "cc-plugin-schedulers")
    registry = build_registry()
    assert "parallel" not in registry.schedulers.names()
    with pytest.raises(UnknownNameError, match="no scheduler named 'parallel'"):
        registry.schedulers.get("parallel")
    assert "local" in registry.job_types.names()


def test_every_hook_is_documented_with_its_signature() -> None:
    text = DOCS.read_text()
    hooks = [name for name, value in vars(hookspecs).items()
             if name.startswith("cc_") and callable(value) and hasattr(value, "cc_spec")]
    assert len(hooks) == 6
    for name in hooks:
        signature = f"{name}{inspect.signature(getattr(hookspecs, name))}".replace("'", "")
        params = list(inspect.signature(getattr(hookspecs, name)).parameters)
        assert re.search(rf"`{name}\({', '.join(params)}\)`", text), f"docs/plugins.md does not document {name}"
        assert getattr(hookspecs, name).__doc__, f"{name} has no docstring"
        assert signature


def test_every_hook_has_a_builtin_implementation_or_test() -> None:
    registry = build_registry()
    provided = {label for p in registry.plugins for label in p.provides}
    assert {"job types", "schedulers", "status stores", "progress parsers"} <= provided


def test_a_custom_progress_parser_plugin_reads_job_logs(cc_home: Path) -> None:
    """A third-party progress format: 'PROGRESS: 33%' lines."""
    from typing import Optional

    from cc_core.api import RunController
    from cc_core.workflow.model import JobSpec, WorkflowSpec
    from cc_core.plugins.progress import ProgressParser, ProgressReport
    from cc_core.running.runner import prepare_run
    from cc_core.states import RunState

    class PercentParser(ProgressParser):
        name = "percent"
        needles = (b"PROGRESS:",)

        def parse(self, line: str) -> Optional[ProgressReport]:
            if not line.startswith("PROGRESS:"):
                return None
            return ProgressReport(progress=float(line.split(":")[1].strip().rstrip("%")))

    class Plugin:
        @staticmethod
        @hookimpl
        def cc_register_progress_parsers(register):  # type: ignore[no-untyped-def]
            register(PercentParser)

    registry = build_registry(extra_plugins=[("percent-plugin", Plugin())])
    spec = WorkflowSpec(name="percent", workflow_dir=str(cc_home),
                        jobs={"p": JobSpec(name="p", command="echo 'PROGRESS: 33%'; exit 1")})
    controller = RunController(prepare_run(spec, registry=registry))
    assert controller.wait(30) is RunState.FAILED
    (job,) = controller.jobs()
    assert job.progress == 33.0 and job.exit_code == 1


def test_a_class_registered_by_path_is_imported_on_first_use(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cc_lazy_scheduler.py").write_text(
        "from cc_core.plugins.scheduler import Scheduler\n"
        "class Lazy(Scheduler):\n    name = 'lazy'\n    def select(self, ready, slots):\n        return []\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    class Plugin:
        @staticmethod
        @hookimpl
        def cc_register_schedulers(register):  # type: ignore[no-untyped-def]
            register("cc_lazy_scheduler:Lazy", name="lazy")
            register("cc_lazy_scheduler:NoSuchClass", name="broken")

    registry = build_registry(extra_plugins=[("lazy-plugin", Plugin())])
    assert "lazy" in registry.schedulers.names()
    assert "cc_lazy_scheduler" not in sys.modules
    assert registry.schedulers.get("lazy").name == "lazy"
    assert "cc_lazy_scheduler" in sys.modules
    with pytest.raises(PluginError, match="'broken' of plugin 'lazy-plugin' could not be loaded"):
        registry.schedulers.get("broken")


def test_ssh_slurm_and_wsl_cost_nothing_to_a_local_workflow(cc_home: Path, tmp_path: Path) -> None:
    import subprocess

    workflow = tmp_path / "one.yaml"
    workflow.write_text("name: one\njobs:\n  a: {command: 'true'}\n")
    probe = ("import sys, runpy; sys.argv = ['ccw', 'run', %r, '-q']\n"
             "from cc_core.cli.main import main\nmain()\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('paramiko', 'fabric', 'cc_ssh.jobtype', 'cc_slurm', 'cc_wsl') and '.jobtype' in m or m in "
             "('paramiko', 'fabric')))" % str(workflow))
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
