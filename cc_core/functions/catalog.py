"""The functions ``ccw serve`` offers: those the settings file names (``functions: [analytics.models:train]``, or
``functions: {serve: [...]}``) and those plugins register with ``cc_register_functions``. Nothing else can be
called over REST: a request names a function of this catalogue, never an import path.

Each function's parameters become a pydantic model (from its type hints; unannotated ones take any JSON value),
so the service validates a call's body and lists a JSON schema of it.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import typing
from dataclasses import dataclass
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, create_model

from cc_core.errors import CCError
from cc_core.functions.decorator import RemoteFunction


@dataclass(frozen=True)
class Offered:
    """One function the service offers."""

    name: str
    remote: RemoteFunction[Any]
    parameters: type[BaseModel]

    @property
    def ref(self) -> str:
        return self.remote.ref

    def describe(self) -> dict[str, Any]:
        doc = inspect.getdoc(self.remote.function) or ""
        return {"name": self.name, "function": self.ref, "description": doc.split("\n\n")[0],
                "kind": self.remote.fields.get("kind", "local"), "parameters": self.parameters.model_json_schema()}


def parameters_model(name: str, function: Any) -> type[BaseModel]:
    """A pydantic model of ``function``'s parameters (``*args``/``**kwargs`` are not offered)."""
    try:
        hints = typing.get_type_hints(function)
    except Exception:  # noqa: BLE001 - hints that cannot be resolved: any value then
        hints = {}
    fields: dict[str, Any] = {}
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        annotation = hints.get(parameter.name, Any)
        default = ... if parameter.default is parameter.empty else parameter.default
        fields[parameter.name] = (annotation, default)
    return create_model(f"{name}_parameters", __config__=ConfigDict(extra="forbid"), **fields)  # type: ignore


def _resolve(target: Any, where: str) -> RemoteFunction[Any]:
    if isinstance(target, RemoteFunction):
        return target
    if callable(target):
        return RemoteFunction(target, {})
    text = str(target)
    module_name, _, attribute = text.partition(":")
    if not module_name or not attribute:
        raise CCError(f"{where}: '{text}' is not 'module:name' (e.g. analytics.models:train)")
    try:
        found: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            found = getattr(found, part)
    except Exception as exc:  # noqa: BLE001 - said with where it was named
        raise CCError(f"{where}: function '{text}' cannot be imported ({type(exc).__name__}: {exc})",
                      hint="the module must be importable by the service's Python (installed, or in the folder "
                           "ccw serve starts in)") from None
    return _resolve(found, where) if isinstance(found, RemoteFunction) or callable(found) else \
        _raise(f"{where}: '{text}' is not a function")


def _raise(message: str) -> Any:
    raise CCError(message)


def _settings_names() -> list[str]:
    from cc_core.settings import config_path, load_settings

    section = load_settings().get("functions")
    names = section.get("serve") if isinstance(section, dict) else section
    if names is None:
        return []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise CCError(f"{config_path()}: 'functions' lists functions to offer as 'module:name' strings")
    return names


def offered_functions(registry: Optional[Any] = None) -> dict[str, Offered]:
    """Every function the service offers, by name."""
    from cc_core.plugins.registry import get_registry
    from cc_core.settings import config_path

    registry = registry or get_registry()
    if "" not in sys.path:
        sys.path.insert(0, "")  # modules in the folder the service starts in
    targets: dict[str, tuple[Any, str]] = {}
    for name, target in registry.functions.items():
        targets[name] = (target, f"function '{name}' of a plugin")
    for text in _settings_names():
        name = text.rpartition(":")[2].rpartition(".")[2]
        targets[name] = (text, f"{config_path()}: functions")
    offered: dict[str, Offered] = {}
    for name, (target, where) in targets.items():
        remote = _resolve(target, where)
        offered[name] = Offered(name, remote, parameters_model(name, remote.function))
    return offered
