"""What the environment of a function call needs beyond the function's own requirements."""

from __future__ import annotations


def extra_requirements_for_functions() -> list[str]:
    """Requirement lines every function call's environment gets: ``cloudpickle`` in the version the caller has, so
    the pickled function and its result load on both sides. Empty when the caller has no cloudpickle."""
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover - Python < 3.8
        return []
    try:
        return [f"cloudpickle=={version('cloudpickle')}"]
    except PackageNotFoundError:
        return []
