"""surveykit: security posture surveys and incident analytics with defensible statistics.

The public API is imported here explicitly; everything else is private.
"""

from __future__ import annotations

from surveykit._version import VERSION
from surveykit.collection.instrument import Instrument, Question
from surveykit.collection.loading import default_instrument, load_instrument
from surveykit.collection.responses import export_responses, import_responses
from surveykit.collection.sessions import issue_session, verify_session
from surveykit.collection.store import Store
from surveykit.collection.xlsform import read_xlsform
from surveykit.datasets import demo_incidents, demo_margins, demo_responses, load_demo
from surveykit.exceptions import (
    DataRepairWarning,
    DesignError,
    ImportValidationError,
    IncompleteDataWarning,
    InstrumentError,
    InvitationError,
    InvitationUsedError,
    LoginThrottledError,
    LonelyPSUError,
    Problem,
    SmallSampleWarning,
    StoreBusyError,
    StoreError,
    SurveykitError,
    WaveClosedError,
    WeightError,
)
from surveykit.incidents.counts import incident_counts
from surveykit.incidents.durations import kaplan_meier, km_quantiles, resolution_curve, time_to_resolve
from surveykit.incidents.growth import cagr, poisson_rate_ratio, yoy_growth
from surveykit.incidents.importing import ImportReport, import_incidents, import_validated
from surveykit.incidents.losses import loss_growth
from surveykit.incidents.overview import IncidentOverview, incident_overview
from surveykit.incidents.reading import IncidentValidation, read_incidents, validate_incidents
from surveykit.incidents.schema import INCIDENT_COLUMNS
from surveykit.incidents.sources import condensed_log, summarise_incidents
from surveykit.incidents.trend import growth_trend, trend_line
from surveykit.incidents.uploads import CheckedUpload, validate_upload
from surveykit.publishing.export import Table, write_workbook
from surveykit.publishing.plotting import (
    plot_categories,
    plot_change,
    plot_counts,
    plot_regions,
    plot_share,
    plot_time_to_resolve,
    plot_trend,
    save_chart,
)
from surveykit.publishing.report import ReportFiles, build_report
from surveykit.survey.comparisons import compare_domains, pairwise_differences
from surveykit.survey.design import SurveyDesign
from surveykit.survey.estimates import survey_growth
from surveykit.survey.proportions import (
    binomial_confint,
    multinomial_confint,
    newcombe_diff_confint,
    survey_confint,
)
from surveykit.survey.tables import IndependenceTest, cramers_v, crosstab, test_independence
from surveykit.survey.weighting import (
    kish_effective_n,
    poststratify,
    rake,
    weighting_efficiency,
    weights_summary,
)

__version__ = VERSION

__all__ = [
    "INCIDENT_COLUMNS",
    "CheckedUpload",
    "DataRepairWarning",
    "DesignError",
    "ImportReport",
    "ImportValidationError",
    "IncidentOverview",
    "IncidentValidation",
    "IncompleteDataWarning",
    "IndependenceTest",
    "Instrument",
    "InstrumentError",
    "InvitationError",
    "InvitationUsedError",
    "LoginThrottledError",
    "LonelyPSUError",
    "Problem",
    "Question",
    "ReportFiles",
    "SmallSampleWarning",
    "Store",
    "StoreBusyError",
    "StoreError",
    "SurveyDesign",
    "SurveykitError",
    "Table",
    "WaveClosedError",
    "WeightError",
    "binomial_confint",
    "build_report",
    "cagr",
    "compare_domains",
    "condensed_log",
    "cramers_v",
    "crosstab",
    "default_instrument",
    "demo_incidents",
    "demo_margins",
    "demo_responses",
    "export_responses",
    "growth_trend",
    "import_incidents",
    "import_responses",
    "import_validated",
    "incident_counts",
    "incident_overview",
    "issue_session",
    "kaplan_meier",
    "kish_effective_n",
    "km_quantiles",
    "load_demo",
    "load_instrument",
    "loss_growth",
    "multinomial_confint",
    "newcombe_diff_confint",
    "pairwise_differences",
    "plot_categories",
    "plot_change",
    "plot_counts",
    "plot_regions",
    "plot_share",
    "plot_time_to_resolve",
    "plot_trend",
    "poisson_rate_ratio",
    "poststratify",
    "rake",
    "read_incidents",
    "read_xlsform",
    "resolution_curve",
    "save_chart",
    "summarise_incidents",
    "survey_confint",
    "survey_growth",
    "test_independence",
    "time_to_resolve",
    "trend_line",
    "validate_incidents",
    "validate_upload",
    "verify_session",
    "weighting_efficiency",
    "weights_summary",
    "write_workbook",
    "yoy_growth",
]
