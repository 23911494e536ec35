"""Finding the exports and reports each area of the dashboard declares in its own module."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def discover(package: ModuleType, attribute: str) -> dict:
    """name → item for every item in `attribute` (a list) of every module in `package`."""
    found: dict = {}
    for mod in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{mod.name}")
        for item in getattr(module, attribute, []):
            if item.name in found:
                raise ValueError(f"{item.name} is declared twice (in {attribute})")
            found[item.name] = item
    return found
