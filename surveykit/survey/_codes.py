"""Integer codes: numbering the combinations of several factors that occur.

Domains, answer cells and raking cells are all combinations of a few factors coded
``0 .. levels - 1``. They are combined into one integer (mixed radix) and numbered without
sorting the rows when the number of possible combinations is small.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["combine_codes", "compact_codes", "split_codes"]

_DENSE_CODES = 1 << 22  # number codes with a count table up to this size, else by sorting


def compact_codes(code: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Renumber non-negative integer codes below ``size`` as ``0 .. m - 1`` in sorted order.

    Returns the codes that occur (sorted) and each row's new code. A count table numbers them
    in one pass when ``size`` is small; otherwise they are sorted.
    """
    if size <= max(_DENSE_CODES, 2 * code.size):
        occurs = np.bincount(code, minlength=size)
        used = np.flatnonzero(occurs)
        number = np.zeros(size, dtype=np.int64)
        number[used] = np.arange(used.size)
        return used, number[code]
    used, inverse = np.unique(code, return_inverse=True)
    return used, inverse.astype(np.int64, copy=False)


def combine_codes(codes: Sequence[np.ndarray], sizes: Sequence[int]) -> tuple[np.ndarray, int]:
    """One code for each combination of ``codes`` (each in ``0 .. size - 1``), and the number
    of possible combinations; the first factor varies slowest."""
    return np.ravel_multi_index(tuple(codes), tuple(sizes)), int(np.prod(sizes, dtype=np.int64))


def split_codes(combined: np.ndarray, sizes: Sequence[int]) -> list[np.ndarray]:
    """The factor codes of combinations made by :func:`combine_codes`."""
    out = []
    rest = np.asarray(combined, dtype=np.int64)
    for size in reversed(sizes):
        out.append(rest % size)
        rest = rest // size
    return out[::-1]
