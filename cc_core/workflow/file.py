"""Reading and writing workflow files (YAML), cc's own format and cloudmesh-cc's.

Loading keeps the line of every job and field so that each problem can name its file and line. Duplicate keys,
which YAML parsers usually drop silently, are problems too.
"""

from __future__ import annotations

import gc
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import yaml
from pydantic import ValidationError

from cc_core.errors import CCError, Problem, WorkflowError
from cc_core.workflow.model import JobSpec, Limits, WorkflowSpec
from cc_core.workflow.overrides import Setting, apply_settings

try:  # libyaml is much faster on big files; the pure-Python parser gives the same result
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

_scalars = yaml.constructor.SafeConstructor()
_STR_TAG = "tag:yaml.org,2002:str"
_JOB_DEFAULT_FIELDS = ("kind", "host", "user", "retries", "retry_delay", "timeout", "env", "options", "python",
                       "venv", "workdir", "cache", "requirements", "conda")


@dataclass
class Locations:
    """Where things were written in a workflow file (1-based lines)."""

    file: Optional[Path] = None
    jobs: dict[str, int] = field(default_factory=dict)
    fields: dict[tuple[str, str], int] = field(default_factory=dict)
    chains: list[int] = field(default_factory=list)
    settings: tuple[Setting, ...] = ()   # the --set/--override changes the file was read with
    warnings: list[Problem] = field(default_factory=list)
    paths: dict[tuple[str, ...], int] = field(default_factory=dict)   # ("limits", "kinds", "local") -> line

    def job(self, name: str, field_name: Optional[str] = None) -> Optional[int]:
        if field_name is not None and (name, field_name) in self.fields:
            return self.fields[(name, field_name)]
        return self.jobs.get(name)

    def problem(self, message: str, job: Optional[str] = None, field_name: Optional[str] = None,
                line: Optional[int] = None) -> Problem:
        if line is None and job is not None:
            line = self.job(job, field_name)
        return Problem(message, file=self.file, line=line, job=job, field=field_name)


@dataclass
class _Node:
    """A YAML value with the line it starts on; mappings keep the line of each key."""

    value: Any
    line: int
    key_lines: dict[str, int] = field(default_factory=dict)


MAX_FILE_BYTES = 32 * 1024 * 1024   # a workflow of 100,000 jobs is about 6 MB
_MERGE_TAG = "tag:yaml.org,2002:merge"
_SCALAR = yaml.ScalarNode
_NULL_TAG = "tag:yaml.org,2002:null"


def _scalar(node: yaml.Node) -> Any:
    # A plain string is the node's text (what the safe constructor returns for it); only other tags (numbers,
    # booleans, null, dates, ...) need the constructor. Most values in a workflow file are strings.
    if node.tag == _STR_TAG and isinstance(node, yaml.ScalarNode):
        return node.value
    return _scalars.construct_object(node, deep=True)


def _key(node: yaml.Node, problems: list[Problem], file: Optional[Path]) -> Optional[str]:
    """A mapping key as the user wrote it: ``on:``, ``no:``, ``1.10:`` or ``2024-01-01:`` stay that text (YAML
    would read them as a boolean, a number or a date); an empty or null key is a problem."""
    line = node.start_mark.line + 1
    if not isinstance(node, yaml.ScalarNode):
        problems.append(Problem("a key must be a plain name, not a list or a mapping", file=file, line=line))
        return None
    if node.tag == _NULL_TAG:
        problems.append(Problem(f"a key is empty (YAML reads '{node.value or '~'}' as null): write a name, or "
                                "quote it", file=file, line=line))
        return None
    return node.value


def _convert(node: yaml.Node, problems: list[Problem], file: Optional[Path]) -> _Node:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        key_lines: dict[str, int] = {}
        merged: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged.extend(_merge_sources(value_node, problems, file))
                continue
            key = _key(key_node, problems, file)
            if key is None:
                continue
            key_line = key_node.start_mark.line + 1
            if key in out:
                problems.append(Problem(f"'{key}' is given twice (first at line {key_lines[key]})",
                                        file=file, line=key_line))
                continue
            out[key] = _convert(value_node, problems, file)
            key_lines[key] = key_line
        for source in merged:  # '<<: *base': the keys of base this mapping does not give itself
            converted = _convert(source, problems, file)
            for key, value in converted.value.items():
                if key not in out:
                    out[key] = value
                    key_lines[key] = converted.key_lines[key]
        return _Node(out, line, key_lines)
    if isinstance(node, yaml.SequenceNode):
        # Most items are plain strings (names in ``depends:``): made here without a call each.
        return _Node([_Node(item.value, item.start_mark.line + 1) if item.tag == _STR_TAG and type(item) is _SCALAR
                      else _convert(item, problems, file) for item in node.value], line)
    return _Node(_scalar(node), line)


def _merge_sources(node: yaml.Node, problems: list[Problem], file: Optional[Path]) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [node]
    if isinstance(node, yaml.SequenceNode) and all(isinstance(n, yaml.MappingNode) for n in node.value):
        return list(node.value)
    problems.append(Problem("'<<' merges a mapping (or a list of mappings) into this one, e.g. '<<: *defaults'",
                            file=file, line=node.start_mark.line + 1))
    return []


def _plain(node: Any) -> Any:
    if isinstance(node, _Node):
        node = node.value
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [v.value if type(v) is _Node and type(v.value) is str else _plain(v) for v in node]
    return node


def parse_yaml(text: str, file: Optional[Path] = None) -> tuple[_Node, list[Problem]]:
    from cc_core.workflow.yaml_limits import check_yaml

    check_yaml(text, file)  # nesting and alias bombs are refused before the document is built
    problems: list[Problem] = []
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise WorkflowError([Problem(f"not valid YAML: {reason}", file=file, line=line)]) from None
    if root is None:
        raise WorkflowError([Problem("the file is empty", file=file)])
    try:
        return _convert(root, problems, file), problems
    except yaml.YAMLError as exc:  # a value no safe constructor takes (e.g. an unknown '!tag')
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise WorkflowError([Problem(f"not valid YAML: {reason}", file=file, line=line)]) from None


def read_text(file: Path, what: str = "workflow file") -> str:
    """The text of a workflow (or settings) file: at most :data:`MAX_FILE_BYTES`, UTF-8, no NUL bytes."""
    try:
        with open(file, "rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise WorkflowError([Problem(f"no such {what}", file=file)]) from None
    except IsADirectoryError:
        raise WorkflowError([Problem(f"is a folder, not a {what}", file=file)]) from None
    except OSError as exc:
        raise WorkflowError([Problem(f"cannot read the {what}: {exc.strerror}", file=file)]) from None
    if len(data) > MAX_FILE_BYTES:
        raise WorkflowError([Problem(f"the {what} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; is it the "
                                     "right file?", file=file)])
    nul = data.find(b"\0")
    if nul >= 0:
        raise WorkflowError([Problem(f"is not a text file (it holds NUL bytes): is it the right file?", file=file,
                                     line=data.count(b"\n", 0, nul) + 1)])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise WorkflowError([Problem(f"is not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be read): save it "
                                     "as UTF-8", file=file, line=line)]) from None


def load_workflow(path: str | Path, settings: Sequence[Setting] = ()) -> WorkflowSpec:
    """Load a workflow file (cc's format or cloudmesh-cc's), changed by ``settings`` (``--set``, see
    :mod:`cc_core.workflow.overrides`). Raises :class:`WorkflowError` naming file and line; when the file has
    problems, the error lists every problem :func:`validate_workflow` would find too."""
    file = Path(path)
    text = read_text(file)
    return load_workflow_text(text, file=file, name=file.stem, directory=file.resolve().parent, settings=settings)


def load_workflow_text(text: str, *, file: Optional[Path] = None, name: Optional[str] = None,
                       directory: Optional[Path] = None, settings: Sequence[Setting] = ()) -> WorkflowSpec:
    """Load a workflow from YAML text; ``directory`` is where its scripts are looked for. Raises
    :class:`WorkflowError` listing every problem, those :func:`validate_workflow` finds included."""
    spec, problems = read_workflow_text(text, file=file, name=name, directory=directory, settings=settings)
    if problems:
        from cc_core.workflow.validation import workflow_problems

        try:
            problems.extend(_not_said_yet(workflow_problems(spec)[1], problems))
        except WorkflowError as exc:   # e.g. a broken settings file: said as well, not instead
            problems.extend(exc.problems)
        except CCError as exc:
            problems.append(Problem(str(exc)))
        error = WorkflowError(_sorted(problems))
        if settings:
            error.hint = "the file as changed by " + ", ".join(s.origin for s in settings)
        raise error
    return spec


def read_workflow_text(text: str, *, file: Optional[Path] = None, name: Optional[str] = None,
                       directory: Optional[Path] = None,
                       settings: Sequence[Setting] = ()) -> tuple[WorkflowSpec, list[Problem]]:
    """The workflow as far as it could be read, and the problems found reading it (fields, types, names).
    Jobs with problems are kept with what could be read of them, so that later checks can look at them too."""
    with _collector_paused():
        try:
            return _load_text(text, file, name, directory, settings)
        except WorkflowError as exc:
            if settings:
                exc.hint = "the file as changed by " + ", ".join(s.origin for s in settings)
            raise


_FILE_FIELDS = (None, "script", "notebook", "exec")


def _not_said_yet(later: list[Problem], found: list[Problem]) -> list[Problem]:
    """The later checks' problems, less a file problem of a job whose file the reading already found wanting
    (e.g. cloudmesh-cc's script named after the job): one problem is said once."""
    said = {(p.job, p.line) for p in found if p.job is not None and p.field in _FILE_FIELDS}
    return [p for p in later if not (p.field in ("script", "notebook") and (p.job, p.line) in said)]


def _sorted(problems: list[Problem]) -> list[Problem]:
    """Problems in the order of the file (those without a line first), each once."""
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: p.line or 0)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Loading makes many objects and frees none, so the cyclic garbage collector would only walk them again and
    again (for 10,000 jobs that is about half of the loading time). Reference counting still frees as usual."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _load_text(text: str, file: Optional[Path], name: Optional[str], directory: Optional[Path],
               settings: Sequence[Setting] = ()) -> tuple[WorkflowSpec, list[Problem]]:
    root, problems = parse_yaml(text, file)
    if settings:
        problems += apply_settings(root, settings, file)
    if not isinstance(root.value, dict):
        raise WorkflowError([Problem("a workflow file is a mapping with 'jobs:' (or cloudmesh-cc's "
                                     "'workflow: nodes:')", file=file, line=root.line)])
    locations = Locations(file=file, settings=tuple(settings))
    if "workflow" in root.value and isinstance(root.value["workflow"].value, dict):
        from cc_core.workflow.cloudmesh_file import from_cloudmesh

        data = from_cloudmesh(root, locations, problems, directory or (file.resolve().parent if file else Path.cwd()))
    else:
        data = _from_native(root, locations, problems)
    data.setdefault("name", name or "workflow")
    spec = _build(data, locations, problems)
    base = directory or (file.resolve().parent if file else Path.cwd())
    spec.workflow_dir = str(_workflow_dir(base, data.get("directory"), locations, problems))
    spec.source = str(file) if file else None
    spec._locations = locations
    return spec, problems


def _workflow_dir(base: Path, given: Any, loc: Locations, problems: list[Problem]) -> Path:
    """``directory:`` (relative to the file's folder) says where relative paths start; by default the file's
    folder. ``ccw export -o`` writes it so that an exported file runs the same scripts wherever it is written."""
    if given is None:
        return base
    if not isinstance(given, str) or not given.strip():
        problems.append(loc.problem("'directory' is a folder (relative to the workflow file's)",
                                    line=loc.paths.get(("directory",))))
        return base
    folder = (base / os.path.expanduser(given)).resolve()
    if not folder.is_dir():
        problems.append(loc.problem(f"directory '{given}' is not a folder (looked for {folder})",
                                    line=loc.paths.get(("directory",))))
    return folder


def locations_of(spec: WorkflowSpec) -> Locations:
    return getattr(spec, "_locations", None) or Locations(file=Path(spec.source) if spec.source else None)


def warnings_of(spec: WorkflowSpec) -> list[Problem]:
    """What loading found doubtful but ran anyway (e.g. a cloudmesh-cc field that cloudmesh-cc itself ignores)."""
    return list(locations_of(spec).warnings)


def _from_native(root: _Node, loc: Locations, problems: list[Problem]) -> dict[str, Any]:
    top = root.value
    known = {"name", "description", "defaults", "jobs", "dependencies", "limits", "colors", "cache", "directory"}
    for section in ("name", "limits", "defaults", "directory"):
        if section in top:
            _record_paths(top[section], (section,), root.key_lines[section], loc)
    for key in top:
        if key not in known and not key.startswith("x-"):
            problems.append(loc.problem(f"unknown top-level field '{key}' (known: {', '.join(sorted(known))}; "
                                        "fields starting with 'x-' are ignored, e.g. for anchors)",
                                        line=root.key_lines[key]))
    jobs_node = top.get("jobs")
    jobs: dict[str, dict[str, Any]] = {}
    if jobs_node is not None and not isinstance(jobs_node.value, dict):
        problems.append(loc.problem("'jobs' must be a mapping of job name to job", line=jobs_node.line))
    elif jobs_node is not None:
        for job_name, job_node in jobs_node.value.items():
            loc.jobs[job_name] = jobs_node.key_lines[job_name]
            if job_node.value is None:
                job_node = _Node({}, job_node.line)
            if not isinstance(job_node.value, dict):
                problems.append(loc.problem("a job is a mapping of fields", job=job_name))
                continue
            for field_name, line in job_node.key_lines.items():
                loc.fields[(job_name, field_name)] = line
            jobs[job_name] = {k: _plain(v) for k, v in job_node.value.items()}
    data: dict[str, Any] = {"jobs": jobs}
    for key in ("name", "description", "limits", "colors", "cache", "directory"):
        if key in top:
            data[key] = _plain(top[key])
    if "cache" in data and not (isinstance(data["cache"], bool) or (isinstance(data["cache"], str)
                                                                    and data["cache"].strip())):
        problems.append(loc.problem("'cache' is true, false or a key string", line=root.key_lines["cache"]))
        del data["cache"]
    defaults = _plain(top.get("defaults")) or {}
    if not isinstance(defaults, dict):
        problems.append(loc.problem("'defaults' must be a mapping", line=top["defaults"].line))
        defaults = {}
    for key in defaults:
        if key not in _JOB_DEFAULT_FIELDS:
            problems.append(loc.problem(f"'{key}' cannot have a default (these can: "
                                        f"{', '.join(_JOB_DEFAULT_FIELDS)})", line=top["defaults"].key_lines[key]))
    for job_name, job in jobs.items():
        for key, value in defaults.items():
            if key not in _JOB_DEFAULT_FIELDS:
                continue
            if key in ("requirements", "conda") and "notebook" in job:
                continue  # a notebook runs in its kernel, not in an environment cc builds
            if key in ("env", "options") and isinstance(value, dict) and isinstance(job.get(key), dict):
                job[key] = {**value, **job[key]}
            elif key not in job:
                job[key] = value
                loc.fields[(job_name, key)] = loc.paths[("defaults", key)]   # a bad default is shown where written
    _add_chains(top.get("dependencies"), jobs, {n: n for n in jobs}, loc, problems)
    return data


def _record_paths(node: _Node, path: tuple[str, ...], line: int, loc: Locations) -> None:
    loc.paths[path] = line
    if isinstance(node.value, dict):
        for key, child in node.value.items():
            _record_paths(child, (*path, key), node.key_lines[key], loc)


def _split_names(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [str(v).strip() for v in value]
    return [str(value)]


def _add_chains(node: Optional[_Node], jobs: dict[str, dict[str, Any]], alias: dict[str, str], loc: Locations,
                problems: list[Problem]) -> None:
    """Apply ``dependencies:``: chains ``a,b,c`` (a → b → c) or cloudmesh's ``{a-b: {source, destination}}``."""
    if node is None or node.value is None:
        return
    pairs: list[tuple[str, str, int]] = []
    if isinstance(node.value, dict):
        for key, entry in node.value.items():
            value = _plain(entry)
            line = node.key_lines[key]
            if isinstance(value, dict) and "source" in value and "destination" in value:
                pairs.append((str(value["source"]), str(value["destination"]), line))
            else:
                problems.append(loc.problem(f"dependency '{key}' needs 'source' and 'destination'", line=line))
    elif isinstance(node.value, list):
        for item in node.value:
            names = _split_names(_plain(item))
            loc.chains.append(item.line)
            if len(names) == 1:
                if names[0] not in alias:
                    problems.append(loc.problem(f"dependency chain names '{names[0]}', which is not a job "
                                                f"(jobs: {_some(alias)})", line=item.line))
            pairs.extend((a, b, item.line) for a, b in zip(names, names[1:]))
    else:
        names = _split_names(node.value)
        pairs.extend((a, b, node.line) for a, b in zip(names, names[1:]))
    for parent, child, line in pairs:
        missing = [n for n in (parent, child) if n not in alias]
        if missing:
            for name in missing:
                problems.append(loc.problem(f"dependency '{parent}' -> '{child}' names '{name}', which is not a job "
                                            f"(jobs: {_some(alias)})", line=line))
            continue
        deps = jobs[alias[child]].setdefault("depends", [])
        if isinstance(deps, str):
            deps = jobs[alias[child]]["depends"] = _split_names(deps)
        if alias[parent] not in deps:
            deps.append(alias[parent])
        loc.fields.setdefault((alias[child], "depends"), line)


def _some(names: dict[str, str], limit: int = 8) -> str:
    keys = list(names)
    text = ", ".join(keys[:limit])
    return text + (", ..." if len(keys) > limit else "")


def _build(data: dict[str, Any], loc: Locations, problems: list[Problem]) -> WorkflowSpec:
    jobs: dict[str, JobSpec] = {}
    for name, fields in data.get("jobs", {}).items():
        if isinstance(fields.get("depends"), str):
            fields["depends"] = _split_names(fields["depends"])
        job = _build_job(name, {k: v for k, v in fields.items() if k != "name"}, loc, problems)
        if job is not None:
            jobs[name] = job
    limits = _build_limits(data.get("limits"), loc, problems)
    try:
        spec = WorkflowSpec(name=str(data["name"]), description=str(data.get("description") or ""),
                            limits=limits, colors=data.get("colors") or {}, cache=data.get("cache"))
    except ValidationError as exc:
        for err in exc.errors():
            where = str(err["loc"][0]) if err["loc"] else "name"
            problems.append(loc.problem(err["msg"].removeprefix("Value error, "), line=loc.paths.get((where,))))
        spec = WorkflowSpec(name="workflow", limits=limits)
    spec.jobs = jobs   # built and checked above, one by one (some only partly, when they have problems)
    return spec


def _build_job(name: str, fields: dict[str, Any], loc: Locations, problems: list[Problem]) -> Optional[JobSpec]:
    """The job, or (when a field is wrong) the job without its wrong fields, so that its dependencies, kind and
    files are checked too; ``None`` when its name is wrong."""
    try:
        return JobSpec(name=name, **fields)
    except ValidationError as exc:
        wrong: set[str] = set()
        for err in exc.errors():
            field_name = str(err["loc"][0]) if err["loc"] else None
            what = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                near = _close(field_name or "", [f for f in JobSpec.model_fields if f != "name"])
                what = (f"unknown field '{field_name}'" + (f" (did you mean '{near}'?)" if near else "")
                        + f" (job fields: {', '.join(f for f in JobSpec.model_fields if f != 'name')})")
            elif field_name and field_name != "name":
                what = f"field '{field_name}': {in_words(err, what)}"
            if field_name:
                wrong.add(field_name)
            problems.append(loc.problem(what, job=name, field_name=field_name if field_name != "name" else None))
    if "name" in wrong:
        return None
    rest = {k: v for k, v in fields.items() if k not in wrong}
    try:
        return JobSpec(name=name, **rest)
    except ValidationError:  # only checks across fields are left (e.g. two of script, notebook, command)
        return JobSpec.model_construct(name=name, **rest)


_TYPE_WORDS = {"int": "a whole number", "float": "a number", "bool": "true or false", "string": "text",
               "list": "a list", "dict": "a mapping"}


def in_words(err: Any, message: str) -> str:
    """pydantic's type errors in the user's words: "'many' is not a whole number"."""
    kind = str(err.get("type", ""))
    for prefix, words in _TYPE_WORDS.items():
        if kind.startswith(prefix + "_") and ("parsing" in kind or "type" in kind):
            value = err.get("input")
            shown = "null" if value is None else f"'{value}'" if isinstance(value, str) else repr(value)
            return f"{shown} is not {words}"
    return message


def _close(word: str, choices: list[str]) -> Optional[str]:
    import difflib

    near = difflib.get_close_matches(word, choices, n=1, cutoff=0.7)
    return near[0] if near else None


def _build_limits(raw: Any, loc: Locations, problems: list[Problem]) -> Limits:
    if raw is None:
        return Limits()
    if not isinstance(raw, dict):
        problems.append(loc.problem("'limits' is a mapping: max_parallel, hosts, kinds", line=loc.paths.get(("limits",))))
        return Limits()
    try:
        return Limits(**raw)
    except ValidationError as exc:
        wrong: set[str] = set()
        for err in exc.errors():
            path = tuple(str(p) for p in err["loc"])
            wrong.add(path[0] if path else "")
            where = ".".join(("limits", *path))
            value = err.get("input")
            if err["type"] == "extra_forbidden":
                what = f"unknown field '{path[-1]}' (limits: max_parallel, hosts, kinds)"
            elif path and path[0] in ("hosts", "kinds") and len(path) == 1:
                what = f"'{path[0]}' maps a {path[0][:-1]} to how many jobs may run there at once"
            else:
                shown = "null" if value is None else repr(value) if isinstance(value, str) else value
                what = (f"{where} is {shown}: a limit is a whole number of at least 1 (with 0 nothing would ever "
                        "start)")
            line = next((loc.paths[("limits", *path[:n])] for n in range(len(path), -1, -1)
                         if ("limits", *path[:n]) in loc.paths), None)
            problems.append(loc.problem(what, line=line))
        kept = {k: v for k, v in raw.items() if k not in wrong}
        for section in ("hosts", "kinds"):   # keep the good entries: an unknown kind among them is a problem too
            if section in wrong and isinstance(raw.get(section), dict):
                kept[section] = {k: v for k, v in raw[section].items()
                                 if isinstance(v, int) and not isinstance(v, bool) and v >= 1}
        try:
            return Limits(**kept)
        except ValidationError:
            return Limits()


def dump_workflow(spec: WorkflowSpec, target: Optional[Path] = None, *, printed: bool = False) -> str:
    """cc's YAML for a workflow; :func:`load_workflow_text` of it gives the same workflow. With ``target`` (the file
    it will be written to), relative paths are made to work from there: when ``target`` lies in another folder than
    the workflow's, ``directory:`` names the workflow's folder relative to it. ``printed``: the text goes to a
    terminal or a pipe; ``directory:`` is then the absolute folder, unless it is the current one."""
    data = spec.to_data()
    folder = relative_directory(spec, target) if target is not None or printed else None
    if folder is not None:
        data = {"name": data.pop("name"), "directory": folder, **data}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def relative_directory(spec: WorkflowSpec, target: Optional[Path]) -> Optional[str]:
    """What ``directory:`` a file written to ``target`` (``None``: printed, read from the current folder) needs so
    that the workflow's relative paths still resolve; ``None`` when it needs none."""
    if spec.workflow_dir is None:
        return None
    here = (target.resolve().parent if target is not None else Path.cwd().resolve())
    there = spec.directory
    if here == there:
        return None
    if target is None:
        return str(there)
    try:
        return os.path.relpath(there, here)
    except ValueError:  # another drive on Windows
        return str(there)


def save_workflow(spec: WorkflowSpec, path: str | Path) -> Path:
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(dump_workflow(spec, target), encoding="utf-8")
    tmp.replace(target)
    return target
