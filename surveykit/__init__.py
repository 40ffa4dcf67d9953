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
from surveykit.datasets import demo_incidents, demo_margins, demo_responses, load_demo
from surveykit.instrument import Instrument, Question, default_instrument, load_instrument, read_xlsform
from surveykit.responses import export_responses, import_responses
from surveykit.store import Store

# --- statistics: design, proportions, weighting, crosstab (issue 3) ---

# --- incidents: ingest, growth, durations (issue 4) ---

__version__ = "0.1.0"

__all__ = [
    # collection
    "Instrument",
    "Question",
    "Store",
    "default_instrument",
    "demo_incidents",
    "demo_margins",
    "demo_responses",
    "export_responses",
    "import_responses",
    "load_demo",
    "load_instrument",
    "read_xlsform",
    # errors
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
