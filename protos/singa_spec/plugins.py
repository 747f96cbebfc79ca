"""Plugins: users' Python modules, imported before a job is compiled or a plan is run.

A plugin is a file path (`--plugin layers/scale.py`), an importable module name (`--plugin
mypkg.layers`), or an entry point that an installed distribution advertises under the group
`singa.plugins` (loaded by itself; `module:function` entry points have the function called). Importing
is all loading does: the module registers what it brings with the registries it imports (layer specs,
layer classes, updaters, ...), so that this loader holds no registry of its own and serves them all.

The plan records the plugins it was compiled with, a file by its absolute path (resolved against the
directory `singac` ran in), and `singart` loads the same ones, refusing to run when one is missing.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from importlib import metadata
from pathlib import Path
from types import ModuleType

from singa_proto import plan_pb2

from .errors import SingaError

GROUP = "singa.plugins"
FILE, MODULE, ENTRY_POINT = "file", "module", "entry-point"


@dataclass(frozen=True)
class Plugin:
    """One plugin: its name (absolute file path, module name or entry point's name) and how it is given."""

    name: str
    how: str


_LOADED: dict[Plugin, ModuleType | None] = {}  # in load order; each plugin is imported once


def load_plugins(given: Iterable[str] = ()) -> list[Plugin]:
    """Load the installed entry-point plugins, then each given one (a file path or a module name), once
    each; returns every plugin loaded so far, in load order. A failure is a one-line SingaError."""
    for ep in sorted(metadata.entry_points(group=GROUP), key=lambda e: e.name):
        _load(Plugin(ep.name, ENTRY_POINT), partial(_from_entry_point, ep))
    for text in given:
        plugin = plugin_of(text)
        _load(plugin, partial(_import, plugin, text))
    return loaded()


def loaded() -> list[Plugin]:
    """The plugins loaded in this process, in load order."""
    return list(_LOADED)


def plugin_of(text: str) -> Plugin:
    """What a `--plugin` value names: a file (ends in .py or holds a path separator) or a module."""
    if text.endswith(".py") or "/" in text or "\\" in text:
        path = Path(text).expanduser()
        if not path.is_file():
            raise SingaError(f"plugin {text}: no such file")
        return Plugin(str(path.resolve()), FILE)
    return Plugin(text, MODULE)


def record(plan: plan_pb2.PlanProto) -> None:
    """Write the plugins loaded so far into the plan (before it is sealed)."""
    del plan.plugins[:]
    plan.plugins.extend(plan_pb2.PluginRef(name=p.name, how=p.how) for p in _LOADED)


def load_recorded(plan: plan_pb2.PlanProto, where: str) -> None:
    """Load the plugins a plan was compiled with; one that is missing here is a SingaError naming it."""
    installed = {ep.name: ep for ep in metadata.entry_points(group=GROUP)}
    for ref in plan.plugins:
        plugin = Plugin(ref.name, ref.how)
        if plugin.how == FILE and not Path(plugin.name).is_file():
            raise SingaError(f"{where}: compiled with the plugin file {plugin.name}, which does not exist "
                             "here; put it back at that path or recompile the job")
        if plugin.how == ENTRY_POINT:
            if plugin.name not in installed:
                raise SingaError(f"{where}: compiled with the plugin {plugin.name} (entry point of group "
                                 f"{GROUP}), which no installed distribution provides here")
            _load(plugin, partial(_from_entry_point, installed[plugin.name]))
        elif plugin.how in (FILE, MODULE):
            _load(plugin, partial(_import, plugin, plugin.name))
        else:
            raise SingaError(f"{where}: plugin {plugin.name} is recorded as given by {plugin.how!r}, which "
                             "this build does not know; recompile the job")


def _load(plugin: Plugin, load: Callable[[], ModuleType | None]) -> None:
    if plugin not in _LOADED:
        _LOADED[plugin] = load()


def _import(plugin: Plugin, text: str) -> ModuleType:
    """Import a file plugin (its folder first on sys.path, so it finds its own `_pb2`) or a module."""
    try:
        if plugin.how == MODULE:
            return importlib.import_module(plugin.name)
        return _import_file(Path(plugin.name))
    except SingaError:
        raise
    except (Exception, SystemExit) as err:  # noqa: BLE001 -- whatever the user's module raises
        raise SingaError(f"plugin {text}: cannot load it: {type(err).__name__}: {err}") from None


def _import_file(path: Path) -> ModuleType:
    name = path.stem
    taken = sys.modules.get(name)
    if taken is not None and Path(getattr(taken, "__file__", None) or "").resolve() == path:
        return taken  # imported already by its module name (an entry point, or another plugin)
    if taken is not None:
        raise SingaError(f"plugin {path}: a module named {name} is already loaded "
                         f"({getattr(taken, '__file__', None) or 'built in'}); rename the file")
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SingaError(f"plugin {path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _from_entry_point(ep: metadata.EntryPoint) -> None:
    try:
        obj = ep.load()
        if ep.attr:
            obj()
    except (Exception, SystemExit) as err:  # noqa: BLE001 -- whatever the user's module raises
        raise SingaError(f"plugin {ep.name} ({GROUP} entry point {ep.value}): cannot load it: "
                         f"{type(err).__name__}: {err}") from None
