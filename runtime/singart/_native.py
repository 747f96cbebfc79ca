"""Loads the kernel extension: oneDNN's shared library first (from its PyPI wheel), then `_kernels`."""
from __future__ import annotations

import ctypes
import importlib
import importlib.metadata
from pathlib import Path
from types import ModuleType


def _dnnl_library() -> Path:
    """The path of libdnnl.so.3 as installed by the onednn-cpu-gomp wheel (into the environment root)."""
    for f in importlib.metadata.files("onednn-cpu-gomp") or ():
        if f.name == "libdnnl.so.3":
            return Path(f.locate()).resolve()
    raise ImportError("onednn-cpu-gomp is installed without libdnnl.so.3; reinstall it")


def _load() -> ModuleType:
    # RTLD_GLOBAL makes oneDNN's symbols visible to the extension, so no rpath or LD_LIBRARY_PATH is needed.
    ctypes.CDLL(str(_dnnl_library()), mode=ctypes.RTLD_GLOBAL)
    return importlib.import_module("singart._kernels")


kernels: ModuleType = _load()
