"""The canonical incident schema: columns, dtypes, controlled vocabularies and code lists.

Every reader produces a frame with :data:`INCIDENT_COLUMNS` in that order and the dtypes of
:data:`INCIDENT_DTYPES`; the store builds its table from the same two.

Conventions
-----------
- ``country`` is an ISO 3166-1 alpha-2 code in upper case (:data:`COUNTRY_CODES`), as the survey
  instrument uses.
- ``region`` is a UN M.49 area code as a three-digit string (``"021"`` Northern America,
  ``"154"`` Northern Europe); :data:`M49_REGIONS` maps codes to names for display.
- ``incident_type``, ``impersonated_role`` and ``severity`` take the values of
  :data:`INCIDENT_TYPES`, :data:`IMPERSONATED_ROLES` and :data:`SEVERITIES`.
- ``occurred_on`` is the date of the incident when year, month and day are all known, else
  ``NaT``; ``year``/``month``/``day`` keep whatever part is known.
- ``detected_at``/``resolved_at`` are tz-naive UTC. A missing ``resolved_at`` means the incident
  is unresolved (censored in :func:`surveykit.time_to_resolve`).
"""

from __future__ import annotations

__all__ = [
    "COUNTRY_CODES",
    "IMPERSONATED_ROLES",
    "INCIDENT_COLUMNS",
    "INCIDENT_DTYPES",
    "INCIDENT_TYPES",
    "M49_REGIONS",
    "SEVERITIES",
]

INCIDENT_COLUMNS: list[str] = [
    "incident_id",
    "year",
    "month",
    "day",
    "occurred_on",
    "country",
    "region",
    "incident_type",
    "impersonated_role",
    "severity",
    "detected_at",
    "resolved_at",
    "loss_amount",
    "source",
]
"""The canonical incident columns, in order. The store imports this list."""

INCIDENT_DTYPES: dict[str, str] = {
    "incident_id": "string",
    "year": "Int64",
    "month": "Int64",
    "day": "Int64",
    "occurred_on": "datetime64[ns]",
    "country": "string",
    "region": "string",
    "incident_type": "string",
    "impersonated_role": "string",
    "severity": "string",
    "detected_at": "datetime64[ns]",
    "resolved_at": "datetime64[ns]",
    "loss_amount": "Float64",
    "source": "string",
}
"""pandas dtype of each canonical column."""

INCIDENT_TYPES: tuple[str, ...] = (
    "whaling_bec",
    "phishing",
    "malware",
    "account_compromise",
    "data_loss",
    "email_outage",
    "other",
)
IMPERSONATED_ROLES: tuple[str, ...] = ("ceo", "cfo", "other_exec", "hr", "it", "legal")
SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")

M49_REGIONS: dict[str, str] = {
    "001": "World",
    "002": "Africa",
    "015": "Northern Africa",
    "202": "Sub-Saharan Africa",
    "014": "Eastern Africa",
    "017": "Middle Africa",
    "018": "Southern Africa",
    "011": "Western Africa",
    "019": "Americas",
    "419": "Latin America and the Caribbean",
    "029": "Caribbean",
    "013": "Central America",
    "005": "South America",
    "003": "North America",
    "021": "Northern America",
    "142": "Asia",
    "143": "Central Asia",
    "030": "Eastern Asia",
    "035": "South-eastern Asia",
    "034": "Southern Asia",
    "145": "Western Asia",
    "150": "Europe",
    "151": "Eastern Europe",
    "154": "Northern Europe",
    "039": "Southern Europe",
    "155": "Western Europe",
    "009": "Oceania",
    "053": "Australia and New Zealand",
    "054": "Melanesia",
    "057": "Micronesia",
    "061": "Polynesia",
}
"""UN M.49 region and sub-region codes (as three-digit strings) and their names."""

COUNTRY_CODES: frozenset[str] = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO
    DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU
    GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW
    KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU
    MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW
    PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
    TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA
    ZM ZW""".split()
)
"""ISO 3166-1 alpha-2 country codes, the values ``country`` may take."""
