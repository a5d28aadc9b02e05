"""environment.yml must agree with pyproject.toml (conda is not available in
CI, so this test is what keeps the conda route honest); the command line is
installed. (How notebooks are committed: tests/test_notebook_figures.py.)"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_matches_pyproject():
    proj = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    deps = env["dependencies"]
    assert any(isinstance(d, str) and d.startswith("python") for d in deps)
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert "-e .[test]" in pip, "the pip section must install this package with its test extra"
    declared = {r for r in proj["dependencies"] + proj["optional-dependencies"]["test"]}
    listed = {r for r in pip if not r.startswith("-e")}
    assert {_name(r) for r in listed} == {_name(r) for r in declared}
    assert listed == declared, "version bounds differ between environment.yml and pyproject.toml"


def test_the_command_line_is_installed():
    proj = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert proj["scripts"]["tsgan"] == "tsgan_lib.cli:main"
