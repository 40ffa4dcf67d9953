"""One way to split a long frame into the groups named by ``by``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pandas as pd

from surveykit._validation import require_columns
from surveykit.exceptions import SurveykitError

__all__ = ["by_columns", "iter_groups"]


def by_columns(
    by: str | Sequence[str] | None, data: pd.DataFrame, error: type[SurveykitError] = SurveykitError
) -> list[str]:
    """``by`` as a list of column names, each checked to be in ``data``."""
    columns = [by] if isinstance(by, str) else list(by or [])
    require_columns(data, columns, "by", error)
    return columns


def iter_groups(
    frame: pd.DataFrame, columns: Sequence[str], *, sort: bool = True
) -> Iterator[tuple[dict[str, object], pd.DataFrame]]:
    """Yield ``({column: value}, rows)`` for every group, missing values forming their own group.

    Without columns the whole frame is the one group, with an empty key.
    """
    if not columns:
        yield {}, frame
        return
    for key, part in frame.groupby(list(columns), dropna=False, sort=sort, observed=True):
        values = key if isinstance(key, tuple) else (key,)
        yield dict(zip(columns, values, strict=True)), part
