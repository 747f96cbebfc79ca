"""singac: compiles a SINGA job description into a partitioned placement plan."""
from __future__ import annotations

from singa_spec import SingaError
from singa_spec.plans import read_plan, write_plan

from .compile import compile_file, compile_job

__all__ = ["SingaError", "compile_file", "compile_job", "read_plan", "write_plan"]
