"""Layering: the library never imports the UI; every public name is really exported."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import surveykit

PACKAGE = Path(surveykit.__file__).parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
            names.update(arg.value.split(".")[0] for arg in node.args if isinstance(arg, ast.Constant))
    return names


def test_no_module_of_the_library_imports_streamlit():
    offenders = [p.name for p in PACKAGE.rglob("*.py") if "streamlit" in imported_modules(p)]
    assert offenders == []


def test_importing_every_module_leaves_streamlit_unloaded():
    modules = sorted(
        "surveykit." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts)
        for p in PACKAGE.rglob("*.py")
        if p.name not in {"__init__.py", "__main__.py"}
    )
    code = "import sys, importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules)
    code += "print('streamlit' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_the_detector_sees_a_streamlit_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from streamlit import session_state\n")
    assert "streamlit" in imported_modules(sample)


def test_public_names_are_exported():
    for name in surveykit.__all__:
        assert hasattr(surveykit, name), name
    assert len(set(surveykit.__all__)) == len(surveykit.__all__)
