"""singac: compiles a SINGA job description into a partitioned placement plan."""
from __future__ import annotations

from .compile import compile_file, compile_job
from .errors import SingaError
from .planio import read_plan, write_plan

__all__ = ["SingaError", "compile_file", "compile_job", "read_plan", "write_plan"]
