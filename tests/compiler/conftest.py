"""Shared helpers for the compiler tests: compile job text in memory, with the checker on."""
from __future__ import annotations

import pytest
from singac import compile_job
from singac.parse import parse_job_text
from singac.source import Source


def compile_text(text: str, name: str = "job.pbtxt"):
    """Compile job text as if it were the file `name`."""
    return compile_job(parse_job_text(text, name), Source(name, text))


@pytest.fixture(autouse=True)
def _check_every_pass(monkeypatch):
    """Run the graph checker after every pass in every compiler test."""
    monkeypatch.setattr("singac.debug.CHECK", True)
