"""The packages' import rule: the compiler and the runtime share only the schema (the generated
protobuf modules and singa_spec), so either could ship alone; only the Python API (`singa`) uses both."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {  # package -> (its folder, the project packages it must not import)
    "singac": (ROOT / "compiler" / "singac", {"singart", "singa"}),
    "singart": (ROOT / "runtime" / "singart", {"singac", "singa"}),
    "singa_spec": (ROOT / "protos" / "singa_spec", {"singac", "singart", "singa"}),
    "singa_proto": (ROOT / "protos" / "singa_proto", {"singac", "singart", "singa_spec", "singa"}),
    # the Python API drives both, and neither knows of it
    "singa": (ROOT / "api" / "singa", set()),
}


def imported(path: Path) -> set[str]:
    """The top-level packages a module imports (anywhere in it, lazily imported ones included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", list(PACKAGES))
def test_package_imports_only_what_it_may(package: str) -> None:
    folder, forbidden = PACKAGES[package]
    modules = sorted(folder.rglob("*.py"))
    assert modules
    bad = {str(p.relative_to(ROOT)): sorted(imported(p) & forbidden) for p in modules}
    assert not {k: v for k, v in bad.items() if v}
