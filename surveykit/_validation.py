"""Input checks shared by the statistics modules; each raises a SurveykitError subclass."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from surveykit.exceptions import DesignError, SurveykitError, WeightError

__all__ = ["check_level", "label", "require_columns", "validated_weights"]


def check_level(level: float) -> float:
    """The confidence level as a float, or a DesignError naming the bad value."""
    if not (isinstance(level, int | float) and 0 < level < 1):
        raise DesignError(f"level must be a number strictly between 0 and 1, e.g. 0.95; got {level!r}")
    return float(level)


def label(value: object) -> object:
    """A row label or value as a plain Python scalar, for messages."""
    return value.item() if isinstance(value, np.generic) else value


def require_columns(
    data: pd.DataFrame,
    columns: Sequence[str],
    argument: str,
    error: type[SurveykitError] = WeightError,
) -> None:
    """Raise ``error`` naming ``argument`` unless ``data`` is a frame holding ``columns``."""
    if not isinstance(data, pd.DataFrame):
        raise error(f"data must be a pandas DataFrame; got {type(data).__name__}")
    for column in columns:
        if not isinstance(column, str) or column not in data.columns:
            shown = list(data.columns)
            more = f" and {len(shown) - 40} more" if len(shown) > 40 else ""
            raise error(
                f"{argument} column {column!r} is not in the data; available columns: {shown[:40]}{more}"
            )


def validated_weights(data: pd.DataFrame, weight: str | None) -> np.ndarray:
    """Validated weights as float64: numeric, present, non-negative, not all zero."""
    if weight is None:
        return np.ones(len(data))
    require_columns(data, [weight], "weight")
    column = data[weight]
    if not (pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)):
        numeric = pd.to_numeric(column, errors="coerce")
        bad = column[numeric.isna() & column.notna()]
        bad = bad if len(bad) else column
        raise WeightError(
            f"weight column {weight!r} must be numeric; row {label(bad.index[0])!r} holds "
            f"{label(bad.iloc[0])!r}. Convert it with pd.to_numeric first."
        )
    values = column.to_numpy(dtype=float, na_value=np.nan)
    missing = ~np.isfinite(values)
    if missing.any():
        row = label(column.index[np.flatnonzero(missing)[0]])
        raise WeightError(
            f"weight column {weight!r} has {int(missing.sum())} missing or infinite values (first at row "
            f"{row!r}: {column.loc[row]!r}); every respondent needs a finite weight."
        )
    negative = values < 0
    if negative.any():
        row = label(column.index[np.flatnonzero(negative)[0]])
        raise WeightError(
            f"weight column {weight!r} has {int(negative.sum())} negative values (first at row {row!r}: "
            f"{label(values[np.flatnonzero(negative)[0]])!r}); survey weights must be >= 0."
        )
    if not (values > 0).any():
        raise WeightError(f"weight column {weight!r} is zero for every respondent; no estimate is possible.")
    return values
