"""Analyst notebooks run top to bottom on the demo data and use only the public API."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import surveykit

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_uses_only_the_public_api(path):
    code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert not re.search(r"from surveykit\.|import surveykit\.", code), "import from the package root"
    used = set(re.findall(r"\bsk\.([A-Za-z_]\w*)", code))
    assert used <= set(surveykit.__all__), used - set(surveykit.__all__)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    # Outputs are rebuilt by running the notebook; stored ones go stale and bloat every diff.
    cells = nbformat.read(path, as_version=4).cells
    with_outputs = [i for i, c in enumerate(cells) if c.cell_type == "code" and c.outputs]
    with_counts = [i for i, c in enumerate(cells) if c.cell_type == "code" and c.execution_count is not None]
    fix = f"clear them: jupyter nbconvert --clear-output --inplace notebooks/{path.name}"
    assert with_outputs == [], f"cells {with_outputs} have stored outputs; {fix}"
    assert with_counts == [], f"cells {with_counts} have execution counts; {fix}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path):
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": path.parent}}
    ).execute()
    errors = [
        o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert errors == []
    assert all(c.execution_count for c in notebook.cells if c.cell_type == "code")
