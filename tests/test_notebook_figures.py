"""The notebooks as committed and as run headless.

- Every notebook in ``notebooks/`` is committed stripped (no outputs, no
  execution counts, no papermill metadata) with the ``python3`` kernelspec,
  has exactly one ``parameters`` cell made of typed assignments with literal
  values (so ``papermill --help-notebook`` documents each with its type,
  default and comment), and turns on ``%matplotlib inline`` in the first code
  cell after it: with ``MPLBACKEND=Agg`` (the Makefile exports it) matplotlib
  would otherwise draw nowhere and papermill's executed copies would hold no
  figures.
- Notebook 00, run through papermill with ``MPLBACKEND=Agg`` and small
  parameters, keeps its figures (``image/png`` outputs) in the executed copy.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def _code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_committed_stripped_and_parametrised(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"].get("kernelspec") == KERNELSPEC
    assert "papermill" not in nb["metadata"]
    code = _code_cells(nb)
    for cell in code:
        assert not cell.get("outputs") and cell.get("execution_count") is None, "commit notebooks stripped of outputs"
        assert "papermill" not in cell.get("metadata", {}), "commit notebooks without papermill cell metadata"
    tagged = [i for i, c in enumerate(code) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"expected one cell tagged 'parameters', found {len(tagged)}"
    tree = ast.parse(_source(code[tagged[0]]))
    assert tree.body, "the parameters cell is empty"
    for stmt in tree.body:
        assert isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None, (
            f"line {stmt.lineno}: the parameters cell holds only typed assignments `name: type = value  # meaning`")
        value = ast.literal_eval(stmt.value)  # a literal default, not an expression or a name
        assert value is not None, f"{stmt.target.id}: a real default, not None meaning 'from somewhere else'"
    # what `papermill --help-notebook` prints: every parameter, with its type and its comment
    papermill = pytest.importorskip("papermill")
    documented = papermill.inspect_notebook(str(path))
    names = [stmt.target.id for stmt in tree.body]
    assert sorted(documented) == sorted(names), (
        f"papermill's parser skips {sorted(set(names) - set(documented))}: annotate with a plain type "
        "(int, float, str, bool, list, ...), not `T | None`")
    for name, info in documented.items():
        assert info["help"].strip(), f"{name}: say what it means in a trailing comment"
        assert info["inferred_type_name"] not in ("None", ""), f"{name}: give it a type annotation"
    assert tagged[0] + 1 < len(code), "no code cell after the parameters cell"
    first = _source(code[tagged[0] + 1])
    assert "%matplotlib inline" in first.splitlines(), (
        "put `%matplotlib inline` in the first code cell after the parameters: it forces the inline backend "
        "whatever MPLBACKEND says, so headless runs keep their figures")


@pytest.mark.slow
def test_notebook_00_headless_keeps_its_figures(tmp_path, monkeypatch):
    papermill = pytest.importorskip("papermill")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("TSGAN_DATA_DIR", str(tmp_path / "data"))  # small stand-ins, generated here
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    out = tmp_path / "00_data.ipynb"
    papermill.execute_notebook(
        str(REPO / "notebooks" / "00_data.ipynb"), str(out), kernel_name="python3", cwd=str(REPO),
        parameters={"num_ids": 24, "regdb_num_ids": 12, "gap_max_images": 300, "verify_workers": 0},
        progress_bar=False)
    nb = json.loads(out.read_text())
    pngs = [i for i, c in enumerate(_code_cells(nb)) for o in c.get("outputs", [])
            if "image/png" in o.get("data", {})]
    figures_drawn = sum(_source(c).count("plt.show()") for c in _code_cells(nb))
    assert figures_drawn >= 5
    assert len(pngs) >= figures_drawn, f"{len(pngs)} image/png outputs for {figures_drawn} plt.show() calls"
