"""The design's variables: questions prepared for estimation and domains coded once.

R's design object keeps its data in ``design$variables``; :class:`DesignVariables` is that part
of a :class:`~surveykit.SurveyDesign`: it turns a column (select-one, boolean, numeric, or a
select-multiple question spread over ``question__choice`` columns) into arrays, and codes the
``by`` domains, caching the factor codes of each column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from surveykit._validation import label, require_columns
from surveykit.collection.instrument import MULTI_SEP
from surveykit.exceptions import DesignError
from surveykit.survey._codes import compact_codes

__all__ = ["DesignVariables", "Domains", "Question"]


_MAX_PATTERN_BITS = 52  # patterns of ticked choices are numbered exactly in a float64 mantissa


@dataclass(frozen=True)
class Question:
    """A question prepared for estimation: binary indicators per category and who answered."""

    name: str
    categories: list[object]
    answered: np.ndarray
    codes: np.ndarray | None = None  # select-one: category code per row, -1 when missing
    indicators: np.ndarray | None = None  # select-multiple: (rows, categories) 0/1 matrix

    @property
    def multi(self) -> bool:
        return self.indicators is not None

    def observed(self) -> list[object]:
        """Categories that occur (every choice of a select-multiple question)."""
        if self.multi:
            return list(self.categories)
        present = np.unique(self.codes[self.codes >= 0])
        return [self.categories[i] for i in present]

    def positions(self, categories: Sequence[object]) -> list[int]:
        """Positions of ``categories``, each of which must occur."""
        observed = self.observed()
        for category in categories:
            if category not in observed:
                raise DesignError(
                    f"category {category!r} of {self.name!r} never occurs in the data; categories: {observed}"
                )
        return [self.categories.index(c) for c in categories]

    def classes(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Rows sorted into answer classes: a class code per row and each class's indicators.

        A select-one question's classes are its categories; a select-multiple question's are
        the patterns of ticked choices that occur. Rows that did not answer get any class (they
        are outside every domain). None when there are too many choices to number the patterns.

        Returns
        -------
        (ndarray, ndarray) or None
            Class code per row, and the ``(classes, categories)`` 0/1 table of indicators.
        """
        if not self.multi:
            return np.maximum(self.codes, 0), np.eye(len(self.categories))
        k = self.indicators.shape[1]
        if k > _MAX_PATTERN_BITS:
            return None
        pattern = (self.indicators @ np.exp2(np.arange(k))).astype(np.int64)
        patterns, code = compact_codes(pattern, 1 << k)
        table = ((patterns[:, None] >> np.arange(k)[None, :]) & 1).astype(float)
        return code, table

    def indicator(self, category: object) -> np.ndarray:
        """0/1 indicator of one category on every row (0 where unanswered)."""
        k = self.positions([category])[0]
        if self.multi:
            return self.indicators[:, k]
        return (self.codes == k).astype(float)


@dataclass(frozen=True)
class Domains:
    """Domain code per row (-1 outside every domain) and the sorted domain keys."""

    columns: list[str]
    code: np.ndarray
    keys: pd.DataFrame

    @property
    def count(self) -> int:
        return len(self.keys)

    def key(self, g: int) -> dict[str, object]:
        return {column: self.keys[column].iloc[g] for column in self.columns}


class DesignVariables:
    """Columns of the design's data frame prepared for estimation.

    Parameters
    ----------
    data : DataFrame
        One row per respondent; not modified, and treated as read-only (codes are cached).
    """

    def __init__(self, data: pd.DataFrame) -> None:
        self.data = data
        self._factors: dict[str, tuple[np.ndarray, list[object]]] = {}

    def column(self, column: str, argument: str) -> pd.Series:
        """The column, or a DesignError naming ``argument`` and the columns there are."""
        require_columns(self.data, [column], argument, DesignError)
        return self.data[column]

    def codes(self, column: str | None, argument: str) -> tuple[np.ndarray, list[object]]:
        """Sorted level codes of a design column (strata, PSUs) that may not be missing."""
        if column is None:
            return np.zeros(len(self.data), dtype=np.int64), [None]
        values = self.column(column, argument)
        if values.isna().any():
            row = label(values.index[np.flatnonzero(values.isna().to_numpy())[0]])
            raise DesignError(f"{argument} column {column!r} has missing values (first at row {row!r})")
        codes, levels = pd.factorize(values, sort=True)
        return codes.astype(np.int64), list(levels)

    def factor(self, column: str, argument: str = "by") -> tuple[np.ndarray, list[object]]:
        """Sorted level codes of a domain column (-1 when missing), computed once."""
        if column not in self._factors:
            values = self.column(column, argument)
            if isinstance(values.dtype, pd.CategoricalDtype):
                codes, levels = values.cat.codes.to_numpy(), list(values.cat.categories)
            else:
                codes, found = pd.factorize(values, sort=True)
                levels = list(found)
            self._factors[column] = (codes.astype(np.int64), levels)
        return self._factors[column]

    def question(self, variable: str) -> Question:
        """A select-one, boolean or select-multiple question as indicators."""
        data = self.data
        if not isinstance(variable, str):
            raise DesignError(f"variable must be a column name; got {variable!r}")
        if variable in data.columns:
            column = data[variable]
            answered = column.notna().to_numpy()
            if pd.api.types.is_bool_dtype(column):
                question, _, choice = variable.partition(MULTI_SEP)
                values = column.to_numpy(dtype=float, na_value=0.0)[:, None]
                return Question(
                    question if choice else variable, [choice or True], answered, indicators=values
                )
            codes, levels = self.factor(variable, "variable")
            return Question(variable, levels, answered, codes=codes)
        prefix = variable + MULTI_SEP
        options = [c for c in data.columns if isinstance(c, str) and c.startswith(prefix)]
        if not options:
            self.column(variable, "variable")  # raises, listing the columns
        block = data[options]
        for column in options:
            if not (pd.api.types.is_bool_dtype(block[column]) or block[column].dropna().isin([0, 1]).all()):
                raise DesignError(f"select-multiple column {column!r} must be boolean (True/False/<NA>)")
        answered = block.notna().any(axis=1).to_numpy()
        values = np.column_stack([block[c].to_numpy(dtype=float, na_value=0.0) for c in options])
        return Question(variable, [c[len(prefix) :] for c in options], answered, indicators=values)

    def numeric(self, variable: str) -> tuple[np.ndarray, np.ndarray]:
        """A numeric column as floats (0 where missing) and the mask of respondents who answered."""
        column = self.column(variable, "variable")
        if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
            numeric = pd.to_numeric(column, errors="coerce")
            bad = column[numeric.isna() & column.notna()]
            if len(bad) or pd.api.types.is_bool_dtype(column):
                shown = bad if len(bad) else column
                raise DesignError(
                    f"column {variable!r} must be numeric for this estimate; row "
                    f"{label(shown.index[0])!r} holds {label(shown.iloc[0])!r}. Use proportions() for a "
                    "categorical question, or convert it with pd.to_numeric."
                )
            column = numeric
        values = column.to_numpy(dtype=float, na_value=np.nan)
        infinite = np.isinf(values)
        if infinite.any():
            row = label(column.index[np.flatnonzero(infinite)[0]])
            raise DesignError(f"column {variable!r} has an infinite value at row {row!r}")
        answered = ~np.isnan(values)
        return np.where(answered, values, 0.0), answered

    def domains(self, by: str | Sequence[str] | None, present: np.ndarray) -> Domains:
        """Code the combinations of ``by`` that occur among ``present`` rows, in sorted order."""
        n = len(self.data)
        if by is None:
            return Domains([], np.where(present, 0, -1).astype(np.int64), pd.DataFrame(index=range(1)))
        columns = [by] if isinstance(by, str) else list(by)
        if not columns:
            raise DesignError("by must name at least one column")
        factors = [self.factor(column) for column in columns]
        if len(factors) == 1:
            combined = factors[0][0]
            present = present & (combined >= 0)
        else:
            missing = np.logical_or.reduce([codes < 0 for codes, _ in factors])
            combined = np.zeros(n, dtype=np.int64)
            for codes, levels in factors:
                combined = combined * len(levels) + np.maximum(codes, 0)
            present = present & ~missing
        # Number the combinations that occur, in sorted order, without sorting the rows; rows
        # outside every domain count in an extra last bin, numbered -1.
        size = int(np.prod([len(levels) for _, levels in factors]))
        key = np.where(present, combined, size)
        occurs = np.bincount(key, minlength=size + 1)[:size]
        used = np.flatnonzero(occurs)
        number = np.full(size + 1, -1, dtype=np.int64)
        number[used] = np.arange(used.size)
        code = number[key]
        key_codes = []
        rest = used
        for _, levels in reversed(factors):
            key_codes.append(rest % len(levels))
            rest = rest // len(levels)
        keys = {}
        for column, (_, levels), kc in zip(columns, factors, reversed(key_codes), strict=True):
            values = np.array(levels, dtype=object)[kc]
            dtype = self.data[column].dtype
            if isinstance(dtype, pd.CategoricalDtype):
                keys[column] = pd.Categorical(values, categories=levels)
            else:
                keys[column] = pd.Series(values, dtype=dtype)
        return Domains(columns, code, pd.DataFrame(keys))

    def mask(self, condition: pd.Series | np.ndarray, argument: str) -> np.ndarray:
        """A boolean row mask from a Series (aligned on the index, missing = False) or an array."""
        if isinstance(condition, pd.Series):
            if not condition.index.equals(self.data.index):
                condition = condition.reindex(self.data.index)
            mask = condition.fillna(False).to_numpy(dtype=bool)
        else:
            mask = np.asarray(condition, dtype=bool)
        if mask.shape != (len(self.data),):
            raise DesignError(
                f"{argument} must have one value per respondent ({len(self.data)}); got {mask.shape}"
            )
        return mask
