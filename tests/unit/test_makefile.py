"""`make run` on a fresh clone installs only what the local stack needs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEVELOPER_TOOLS = ("aws-sam-cli", "cfn-lint", "ruff", "mypy", "pytest", "schemathesis")


def requirements(name: str) -> set[str]:
    lines = (ROOT / name).read_text().splitlines()
    return {re.split(r"[=<>\[ ]", line)[0].lower() for line in lines if line and line[0].isalpha()}


def prerequisites(target: str) -> str:
    found = re.search(rf"^{target}:([^#\n]*)", (ROOT / "Makefile").read_text(), re.M)
    assert found, target
    return found.group(1)


def test_the_stack_needs_no_developer_toolchain() -> None:
    assert not requirements("requirements-run.txt") & set(DEVELOPER_TOOLS)
    assert set(DEVELOPER_TOOLS) <= requirements("requirements-dev.txt")
    assert "$(VENV)/.run" in prerequisites("run") and ".dev" not in prerequisites("run")
    assert "$(VENV)/.dev" in prerequisites("test") or "lint" in prerequisites("test")


def test_installs_say_what_they_are_doing() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "Installing what the local stack needs" in makefile
    assert "Installing the test and build tools" in makefile
