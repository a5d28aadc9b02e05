"""environment.yml must agree with pyproject.toml (conda is not available in
CI, so this test is what keeps the conda route honest); notebooks are
committed stripped with a python3 kernelspec and a parameters cell."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
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


@pytest.mark.parametrize("path", sorted((REPO / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_committed_clean(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert "papermill" not in nb["metadata"]
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "commit notebooks stripped"
    assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in code)
