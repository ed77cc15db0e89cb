"""The package's metadata claims only what CI tests; the wheel itself is tested from a fresh install by
.ci/wheel-smoke (``make test-wheel``)."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def versions(prefix: str) -> set[str]:
    return {c.removeprefix(prefix) for c in PROJECT["classifiers"] if re.fullmatch(re.escape(prefix) + r"\d+\.\d+", c)}


def test_classifiers_claim_the_python_and_django_ci_runs():
    assert versions("Programming Language :: Python :: ") == {f"{sys.version_info.major}.{sys.version_info.minor}"}
    assert versions("Framework :: Django :: ") == {".".join(map(str, django.VERSION[:2]))}


def test_license_is_an_spdx_expression_with_its_file():
    assert PROJECT["license"] == "BSD-3-Clause"
    assert all((ROOT / name).is_file() for name in PROJECT["license-files"])
    assert not any(c.startswith("License ::") for c in PROJECT["classifiers"])  # superseded by the SPDX field


def test_the_wheel_smoke_test_runs_in_ci():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test: .*\btest-wheel\b", makefile, re.MULTILINE)
    assert ".ci/wheel-smoke" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()
