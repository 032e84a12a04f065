"""The user's settings: ``$CC_HOME/config.yaml`` (or the file ``CC_CONFIG`` names).

    job_types:
      local: {kill_grace: 10}                        # seconds between SIGTERM and SIGKILL on kill
      ssh:   {ssh_config: ~/.ssh/config.work, accept_new_host_keys: false}
      wsl:   {distribution: Ubuntu-22.04}

Each job type gets its own mapping as ``JobTypeContext.options``; a job's own ``options:`` in a workflow file
are separate and go with the job. A job type that declares a ``settings_model`` has its settings checked before
any run: a misspelt key or a wrong value is reported with the file and line, never ignored.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from cc_core.errors import Problem, WorkflowError
from cc_core.home import cc_home
from cc_core.plugins.jobtype import JobType, JobTypeContext

if TYPE_CHECKING:
    from cc_core.plugins.registry import Registry

_TOP = ("job_types", "environments", "functions")
# Options every job type takes (where environments are built and found: docs/environments.md), on top of its own.
SHARED_OPTIONS = ("environments", "conda_root")


class SettingsError(WorkflowError):
    """The settings file has problems; nothing was run."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        head = "the settings file is not valid"
        if len(problems) == 1:
            self.message = f"{head}: {problems[0]}"
        else:
            self.message = f"{head} ({len(problems)} problems):\n" + "\n".join(f"  - {p}" for p in problems)
        self.args = (str(self),)


def config_path(home: Optional[Path] = None) -> Path:
    explicit = os.environ.get("CC_CONFIG")
    return Path(explicit).expanduser() if explicit else (home or cc_home()) / "config.yaml"


def _read(path: Path) -> tuple[dict[str, Any], dict[tuple[str, ...], int]]:
    """The settings as plain data, and the line of every key (``("job_types", "local", "kill_grace")``)."""
    from cc_core.workflow.file import parse_yaml, read_text

    try:
        root, problems = parse_yaml(read_text(path, "settings file"), path)
    except WorkflowError as exc:
        raise SettingsError(exc.problems) from None
    if problems:
        raise SettingsError(problems)
    lines: dict[tuple[str, ...], int] = {}

    def walk(node: Any, prefix: tuple[str, ...]) -> Any:
        if isinstance(node.value, dict):
            for key, line in node.key_lines.items():
                lines[(*prefix, key)] = line
            return {k: walk(v, (*prefix, k)) for k, v in node.value.items()}
        if isinstance(node.value, list):
            return [walk(v, prefix) for v in node.value]
        return node.value

    data = walk(root, ())
    if data is None:
        return {}, lines
    if not isinstance(data, dict):
        raise SettingsError([Problem("the settings file is a mapping, e.g. 'job_types: {local: {kill_grace: 10}}'",
                                     file=path, line=root.line)])
    problems: list[Problem] = []
    job_types = data.get("job_types") or {}
    if not isinstance(job_types, dict):
        problems.append(Problem("'job_types' maps a job kind to its settings, e.g. 'local: {kill_grace: 10}'",
                                file=path, line=lines.get(("job_types",))))
    else:
        problems.extend(Problem("'job_types' maps a job kind to its settings, e.g. 'local: {kill_grace: 10}'",
                                file=path, line=lines.get(("job_types", kind)))
                        for kind, value in job_types.items() if not isinstance(value, dict) and value is not None)
    if problems:
        raise SettingsError(problems)
    return data, lines


_cache: dict[Path, tuple[float, int, dict[str, Any], dict[tuple[str, ...], int]]] = {}


def _settings(home: Optional[Path]) -> tuple[Path, dict[str, Any], dict[tuple[str, ...], int]]:
    path = config_path(home)
    try:
        stat = path.stat()
    except OSError:
        return path, {}, {}
    if not path.is_file():
        raise SettingsError([Problem("is not a file", file=path)])
    cached = _cache.get(path)
    if cached is not None and cached[:2] == (stat.st_mtime, stat.st_size):
        return path, cached[2], cached[3]
    data, lines = _read(path)
    _cache[path] = (stat.st_mtime, stat.st_size, data, lines)
    return path, data, lines


def load_settings(home: Optional[Path] = None) -> dict[str, Any]:
    """The settings file as plain data (``{}`` when there is none); raises :class:`SettingsError` when it is not
    a readable mapping."""
    return _settings(home)[1]


def settings_problems(registry: "Registry", home: Optional[Path] = None) -> list[Problem]:
    """Every problem of the settings file: job kinds no plugin provides, and (for job types with a
    ``settings_model``) unknown keys and wrong values, each with its line."""
    try:
        path, data, lines = _settings(home)
    except SettingsError as exc:
        return exc.problems
    problems = [Problem(f"unknown setting '{key}' (settings: {', '.join(_TOP)})", file=path, line=lines[(key,)])
                for key in data if key not in _TOP]
    for kind, options in (data.get("job_types") or {}).items():
        cls = registry.job_types.find(kind)
        if cls is None and getattr(registry, "left_out", None):
            continue   # perhaps a kind of a plugin CC_LOAD_PLUGINS / CC_DISABLE_PLUGINS leave out
        if cls is None:
            installed = ", ".join(registry.job_types.names()) or "none"
            problems.append(Problem(f"job_types: '{kind}' is not an installed job kind (installed kinds: "
                                    f"{installed})", file=path, line=lines.get(("job_types", kind))))
            continue
        problems.extend(_option_problems(cls, kind, options or {}, path, lines))
    return problems


def _option_problems(cls: type[JobType], kind: str, options: dict[str, Any], path: Path,
                     lines: dict[tuple[str, ...], int]) -> list[Problem]:
    model = cls.settings_model
    if model is None:
        return []
    from pydantic import ValidationError

    try:
        model(**{k: v for k, v in options.items() if k not in SHARED_OPTIONS or k in model.model_fields})
    except ValidationError as exc:
        problems = []
        known = ", ".join(dict.fromkeys([*model.model_fields, *SHARED_OPTIONS]))
        for err in exc.errors():
            key = str(err["loc"][0]) if err["loc"] else ""
            if err["type"] == "extra_forbidden":
                what = f"unknown setting '{key}' of job type '{kind}' (its settings: {known})"
            else:
                from cc_core.workflow.file import in_words

                what = f"job_types: {kind}: {key}: {in_words(err, err['msg'].removeprefix('Value error, '))}"
            line = lines.get(("job_types", kind, key)) or lines.get(("job_types", kind))
            problems.append(Problem(what, file=path, line=line))
        return problems
    return []


def job_type_context(kind: str, home: Optional[Path] = None) -> JobTypeContext:
    """The context a job type of ``kind`` is created with: CC_HOME and its options from the settings file."""
    home = home or cc_home()
    options = dict((load_settings(home).get("job_types") or {}).get(kind) or {})
    return JobTypeContext(home=home, options=options)


def make_job_type(registry: "Registry", kind: str, home: Optional[Path] = None) -> JobType:
    """A job type object of ``kind`` with the user's settings (raises :class:`SettingsError` when they are
    wrong)."""
    cls = registry.job_types.get(kind)
    context = job_type_context(kind, home)
    path, _, lines = _settings(home)
    problems = _option_problems(cls, kind, context.options, path, lines)
    if problems:
        raise SettingsError(problems)
    return cls(context)
