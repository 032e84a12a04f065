"""The plugin registry: one factory that loads every plugin and knows every job type, scheduler, status store,
progress parser and command by name.

Plugins come from entry points in group ``cc`` (cc's own built-ins too). ``CC_DISABLE_PLUGINS`` (comma-separated
entry-point or distribution names) blocks some; ``CC_LOAD_PLUGINS`` (same form) loads only those. A plugin that
fails to import is reported with its distribution and the rest still load.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Optional, TypeVar, Union

import pluggy

from cc_core.plugins import hookspecs
from cc_core.errors import PluginError, UnknownNameError

T = TypeVar("T")
ENTRY_POINT_GROUP = "cc"
# cc's own store, progress parsers and schedulers: without them nothing runs, so CC_LOAD_PLUGINS (an allow-list of
# the plugins wanted) keeps them; CC_DISABLE_PLUGINS can still block them by name.
ESSENTIAL = frozenset({"cc-core", "cc-plugin-schedulers"})


@dataclass(frozen=True)
class PluginInfo:
    """One loaded (or broken) plugin, as ``ccw plugins`` shows it."""

    name: str                      # entry-point name
    distribution: str
    version: str
    module: str
    provides: dict[str, list[str]] = field(default_factory=dict)   # "job types" -> ["local"], ...
    error: Optional[str] = None


class Catalogue(Generic[T]):
    """Named classes of one extension kind, each remembered with the plugin that registered it.

    A class may be registered by import path (``"package.module:Class"`` with its ``name``): it is imported the
    first time it is used, so a plugin with heavy dependencies costs nothing to workflows that do not use it.
    """

    def __init__(self, kind: str, left_out: Optional[list[str]] = None) -> None:
        self.kind = kind
        self.left_out = left_out if left_out is not None else []   # installed plugins not loaded (env lists)
        self.items: dict[str, Union[type[T], str]] = {}
        self.owners: dict[str, str] = {}

    def add(self, cls: Union[type[T], str], owner: str, name: Optional[str] = None) -> str:
        if isinstance(cls, str):
            if not name or ":" not in cls:
                raise PluginError(f"plugin '{owner}' registered the {self.kind} '{cls}' by import path: give it as "
                                  "'package.module:Class' with name='...'")
        else:
            name = name or getattr(cls, "name", "")
        if not name:
            raise PluginError(f"plugin '{owner}' registered a {self.kind} without a name ({cls!r})")
        if name in self.items and self.owners[name] != owner:
            raise PluginError(f"two plugins register the {self.kind} '{name}': '{self.owners[name]}' and "
                              f"'{owner}'", hint=f"uninstall one, or block one with CC_DISABLE_PLUGINS={owner}")
        self.items[name] = cls
        self.owners[name] = owner
        return name

    def find(self, name: str) -> Optional[type[T]]:
        """The class registered as ``name`` (imported now if it was registered by path), or ``None``."""
        entry = self.items.get(name)
        if entry is None or not isinstance(entry, str):
            return entry
        module_name, _, attribute = entry.partition(":")
        try:
            import importlib

            cls = getattr(importlib.import_module(module_name), attribute)
        except Exception as exc:  # a broken plugin is named, never a traceback
            raise PluginError(f"the {self.kind} '{name}' of plugin '{self.owners[name]}' could not be loaded from "
                              f"{entry}: {type(exc).__name__}: {exc}") from None
        if getattr(cls, "name", None) != name:
            raise PluginError(f"{entry} of plugin '{self.owners[name]}' is not the {self.kind} '{name}'")
        self.items[name] = cls
        return cls

    def get(self, name: str) -> type[T]:
        cls = self.find(name)
        if cls is None:
            known = ", ".join(sorted(self.items)) or "none"
            hint = f"install the plugin that provides the {self.kind} '{name}'"
            if self.left_out:
                hint = (f"CC_LOAD_PLUGINS / CC_DISABLE_PLUGINS leave out the installed plugins "
                        f"{', '.join(self.left_out)}: one of them may provide it; otherwise {hint}")
            raise UnknownNameError(f"no {self.kind} named '{name}' is loaded (loaded: {known})", hint=hint)
        return cls

    def names(self) -> list[str]:
        return sorted(self.items)


class Registry:
    """Everything the installed plugins provide. Build one with :func:`get_registry`."""

    def __init__(self, manager: pluggy.PluginManager) -> None:
        from cc_core.plugins.commands import Command
        from cc_core.plugins.jobtype import JobType
        from cc_core.plugins.progress import ProgressParser
        from cc_core.plugins.scheduler import Scheduler
        from cc_core.store.base import StatusStore

        self.manager = manager
        self.plugins: list[PluginInfo] = []
        self.left_out: list[str] = []
        self.job_types: Catalogue[JobType] = Catalogue("job type", self.left_out)
        self.schedulers: Catalogue[Scheduler] = Catalogue("scheduler", self.left_out)
        self.stores: Catalogue[StatusStore] = Catalogue("status store", self.left_out)
        self.progress_parsers: Catalogue[ProgressParser] = Catalogue("progress parser", self.left_out)
        self.commands: dict[str, Command] = {}
        self._command_owners: dict[str, str] = {}
        self.functions: dict[str, Any] = {}        # name -> function, @function or "module:name" (ccw serve)
        self._function_owners: dict[str, str] = {}

    def collect(self, plugin: object, info: PluginInfo) -> PluginInfo:
        """Call one plugin's registration hooks and record what it provides."""
        provides: dict[str, list[str]] = {}

        def registrar(catalogue: Catalogue[Any], label: str) -> Callable[[Any], None]:
            def register(cls: Any, name: Optional[str] = None) -> None:
                provides.setdefault(label, []).append(catalogue.add(cls, info.distribution, name))
            return register

        def register_command(command: Any) -> None:
            if command.name in self.commands and self._command_owners[command.name] != info.distribution:
                raise PluginError(f"two plugins register the command '{command.name}': "
                                  f"'{self._command_owners[command.name]}' and '{info.distribution}'")
            self.commands[command.name] = command
            self._command_owners[command.name] = info.distribution
            provides.setdefault("commands", []).append(command.name)

        def register_function(target: Any, name: Optional[str] = None) -> None:
            if name is None:
                name = target.rpartition(":")[2].rpartition(".")[2] if isinstance(target, str) else \
                    getattr(target, "__name__", None)
            if not name:
                raise PluginError(f"plugin '{info.distribution}' registered a function without a name")
            if name in self.functions and self._function_owners[name] != info.distribution:
                raise PluginError(f"two plugins register the function '{name}': "
                                  f"'{self._function_owners[name]}' and '{info.distribution}'")
            self.functions[name] = target
            self._function_owners[name] = info.distribution
            provides.setdefault("functions", []).append(name)

        calls = [
            ("cc_register_functions", register_function),
            ("cc_register_job_types", registrar(self.job_types, "job types")),
            ("cc_register_schedulers", registrar(self.schedulers, "schedulers")),
            ("cc_register_status_stores", registrar(self.stores, "status stores")),
            ("cc_register_progress_parsers", registrar(self.progress_parsers, "progress parsers")),
            ("cc_register_commands", register_command),
        ]
        for hook_name, register in calls:
            hook = getattr(self.manager.hook, hook_name)
            impls = [impl for impl in hook.get_hookimpls() if impl.plugin is plugin]
            for impl in impls:
                impl.function(register=register)
        done = PluginInfo(info.name, info.distribution, info.version, info.module, provides, info.error)
        self.plugins.append(done)
        return done

    def progress_parser_instances(self) -> list[Any]:
        return [self.progress_parsers.get(name)() for name in self.progress_parsers.names()]


def _name_list(variable: str) -> Optional[set[str]]:
    raw = os.environ.get(variable)
    if raw is None or not raw.strip():
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def _distribution_facts(ep: Any, seen: dict[int, tuple[str, str]]) -> tuple[str, str]:
    """Name and version of the distribution an entry point comes from, read once per distribution from the head
    of its metadata (``dist.metadata`` would parse the whole file as an e-mail message)."""
    if ep.dist is None:
        return "?", "?"
    key = id(ep.dist)
    if key not in seen:
        seen[key] = _name_and_version(ep.dist)
    return seen[key]


def _name_and_version(dist: Any) -> tuple[str, str]:
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    found: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break   # the headers end at the first empty line; the description follows
        field, _, value = line.partition(":")
        if field in ("Name", "Version") and field not in found:
            found[field] = value.strip()
            if len(found) == 2:
                return found["Name"], found["Version"]
    metadata = dist.metadata   # an unusual metadata file: let the full parser read it
    return metadata["Name"], metadata["Version"]


def _entry_points(group: str) -> list[Any]:
    """The entry points of ``group``, as ``importlib.metadata.entry_points(group=...)`` finds them (the first
    distribution of a name on ``sys.path`` wins), parsing only the ``entry_points.txt`` files that name the group:
    most installed distributions have none for cc, and parsing them all is most of the time plugins take to load."""
    from importlib.metadata import distributions

    section = f"[{group}]"
    seen: set[str] = set()
    found: list[Any] = []
    for dist in distributions():
        name = getattr(dist, "_normalized_name", None) or dist.metadata["Name"]
        if name in seen:
            continue
        seen.add(name)
        text = dist.read_text("entry_points.txt")
        if text and section in text:
            found.extend(dist.entry_points.select(group=group))
    return found


def build_registry(extra_plugins: Optional[list[tuple[str, object]]] = None) -> Registry:
    """Load every plugin (entry points of group ``cc`` plus ``extra_plugins``) into a new :class:`Registry`.

    Raises :class:`PluginError` when two plugins claim one name. A plugin that fails to import or register is
    kept in ``registry.plugins`` with its error and the others still load.
    """
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    registry = Registry(manager)
    blocked = _name_list("CC_DISABLE_PLUGINS") or set()
    allowed = _name_list("CC_LOAD_PLUGINS")
    facts: dict[int, tuple[str, str]] = {}
    left_out = registry.left_out
    for ep in sorted(_entry_points(ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist, version = _distribution_facts(ep, facts)
        if ep.name in blocked or dist in blocked:
            left_out.append(ep.name)
            continue
        if allowed is not None and ep.name not in allowed and dist not in allowed and dist not in ESSENTIAL:
            left_out.append(ep.name)
            continue
        info = PluginInfo(ep.name, dist, version, ep.value)
        try:
            plugin = ep.load()
            manager.register(plugin, name=f"{dist}:{ep.name}")
        except Exception as exc:  # a broken plugin must not take the others down
            registry.plugins.append(PluginInfo(ep.name, dist, version, ep.value,
                                               error=f"{type(exc).__name__}: {exc}"))
            continue
        try:
            registry.collect(plugin, info)
        except PluginError:
            raise
        except Exception as exc:
            registry.plugins.append(PluginInfo(ep.name, dist, version, ep.value,
                                               error=f"{type(exc).__name__}: {exc}"))
    for name, plugin in extra_plugins or []:
        manager.register(plugin, name=name)
        registry.collect(plugin, PluginInfo(name, name, "-", getattr(plugin, "__name__", repr(plugin))))
    return registry


_registry: Optional[Registry] = None
_lock = threading.Lock()


def get_registry() -> Registry:
    """The process-wide registry, built on first use."""
    global _registry
    with _lock:
        if _registry is None:
            _registry = build_registry()
        return _registry


def reset_registry(registry: Optional[Registry] = None) -> None:
    """Forget the process-wide registry (tests use this to install plugins of their own)."""
    global _registry
    with _lock:
        _registry = registry
