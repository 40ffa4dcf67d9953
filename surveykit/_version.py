"""The package's version, read once from its installed metadata (pyproject.toml is the source)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["VERSION"]

try:
    VERSION = version("surveykit")
except PackageNotFoundError:  # pragma: no cover - imported from a source tree that is not installed
    VERSION = "0+source"
