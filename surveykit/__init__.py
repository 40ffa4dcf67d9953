"""surveykit: security posture surveys and incident analytics with defensible statistics.

The public API is imported here explicitly; everything else is private.
"""

from __future__ import annotations

from surveykit.datasets import demo_incidents, demo_margins, demo_responses, load_demo
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
from surveykit.instrument import Instrument, Question, default_instrument, load_instrument, read_xlsform
from surveykit.responses import export_responses, import_responses
from surveykit.store import Store

# Statistics (issue 3) and incidents (issue 4) imports go above, in sorted order.

__version__ = "0.1.0"

__all__ = [
    "DesignError",
    "ImportValidationError",
    "Instrument",
    "InstrumentError",
    "LonelyPSUError",
    "Problem",
    "Question",
    "SmallSampleWarning",
    "Store",
    "StoreError",
    "SurveykitError",
    "WeightError",
    "default_instrument",
    "demo_incidents",
    "demo_margins",
    "demo_responses",
    "export_responses",
    "import_responses",
    "load_demo",
    "load_instrument",
    "read_xlsform",
]
