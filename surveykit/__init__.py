"""surveykit: security posture surveys and incident analytics with defensible statistics.

The public API is imported here explicitly; everything else is private.
"""

from __future__ import annotations

from surveykit.exceptions import (
    DesignError,
    ImportValidationError,
    InstrumentError,
    LonelyPSUError,
    Problem,
    SmallSampleWarning,
    StoreError,
    SurveykitError,
    WeightError,
)

# --- collection: instrument, store, demo data (issue 2) ---

# --- statistics: design, proportions, weighting, crosstab (issue 3) ---

# --- incidents: ingest, growth, durations (issue 4) ---

__version__ = "0.1.0"

__all__ = [
    "DesignError",
    "ImportValidationError",
    "InstrumentError",
    "LonelyPSUError",
    "Problem",
    "SmallSampleWarning",
    "StoreError",
    "SurveykitError",
    "WeightError",
]
