"""Every reference a notebook makes to a file, a README section or a docs entry exists.

A student who follows "see the README's section X" or "`tsgan_lib/losses/reid.py`"
must land somewhere; references to notes outside the repository are not allowed.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
#: A repository path in backticks or plain text: tsgan_lib/..., docs/..., params/..., benchmarks/..., notebooks/...
PATH = re.compile(r"(?<![\w/.])((?:tsgan_lib|docs|params|benchmarks|notebooks|tests)/[\w./*-]*\w)")
#: "the README's section *Title*" / "README section "Title""
README_SECTION = re.compile(r"README'?s? section\s*[*\"“]([^*\"”]+)[*\"”]")
#: "docs/interpretations.md, item 7" / "interpretation 7"
INTERPRETATION = re.compile(r"(?:interpretations\.md,? item|interpretation) (\d+)")


def _text(nb: Path) -> str:
    cells = json.loads(nb.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells)


def _headings(md: Path) -> set[str]:
    return {line.lstrip("#").strip() for line in md.read_text().splitlines() if line.startswith("#")}


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_every_path_a_notebook_names_exists(nb):
    missing = sorted({p for p in PATH.findall(_text(nb))  # a glob (params/sysu_*.yaml) must match something
                      if not any(ROOT.glob(p)) and not (ROOT / p.replace(".", "/")).exists()
                      and not p.startswith(("notebooks/runs", "tests/tmp"))})
    assert not missing, f"{nb.name} names files that do not exist: {missing}"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_every_readme_section_a_notebook_names_exists(nb):
    sections = _headings(ROOT / "README.md")
    missing = [s for s in README_SECTION.findall(_text(nb)) if s.strip() not in sections]
    assert not missing, f"{nb.name} refers to README sections that do not exist: {missing}"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_every_interpretation_a_notebook_names_exists(nb):
    entries = {int(m) for m in re.findall(r"^(\d+)\. \*\*", (ROOT / "docs/interpretations.md").read_text(), re.M)}
    missing = [int(n) for n in INTERPRETATION.findall(_text(nb)) if int(n) not in entries]
    assert not missing, f"{nb.name} refers to interpretations that do not exist: {missing}"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_no_notebook_refers_to_notes_outside_the_repository(nb):
    assert "PAPER_NOTES" not in _text(nb), f"{nb.name} refers to PAPER_NOTES, which is not part of the repository"


def test_the_reference_patterns_find_what_they_should():
    text = ("see `tsgan_lib/losses/reid.py` and the README's section *Two commands*; "
            "docs/interpretations.md, item 7; tsgan_lib.data.default_pad; `params/sysu_*.yaml`")
    assert PATH.findall(text) == ["tsgan_lib/losses/reid.py", "docs/interpretations.md", "params/sysu_*.yaml"]
    assert README_SECTION.findall(text) == ["Two commands"]
    assert INTERPRETATION.findall(text) == ["7"]
