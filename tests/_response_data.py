"""Stored responses of every shape the tidy frame must reproduce, written through the public API
only, so surveykit's older code can make the same store (tests/data/store_v2.db).

Two instruments: the bundled one in its current version 2 and an older version 1 (a question
fewer, a choice fewer, no "please specify" for the role), and a "pulse" instrument with a long
id full of characters a table name cannot hold, whose version 1 asked a number as a decimal that
version 2 asks as a whole number.
"""

from __future__ import annotations

from typing import Any

from surveykit import Instrument, Store, default_instrument, demo_responses

__all__ = ["PULSE_ID", "fill_store", "older_whaling", "pulse"]

PULSE_ID = "Pulse check: \"quoted\" 'names', spaces & a very long id well past sixty-three characters"
_LONG_QUESTION = "how_many_phishing_emails_reached_an_inbox_in_the_last_twelve_months_at_your_organisation"


def older_whaling() -> Instrument:
    """Version 1 of the bundled instrument: no ``incidents_prev_12m``, no ``payment_verification``
    control, and no "please specify" for the role."""
    spec = default_instrument().to_dict()
    spec["version"] = 1
    spec["questions"] = [q for q in spec["questions"] if q["id"] != "incidents_prev_12m"]
    for question in spec["questions"]:
        if question["id"] == "controls":
            question["choices"] = [c for c in question["choices"] if c["name"] != "payment_verification"]
        if question["id"] == "role":
            question.pop("other", None)
    return Instrument.from_dict(spec)


def pulse(version: int) -> Instrument:
    """The pulse instrument; ``tools`` gained a choice and ``staff`` became an integer in version 2."""
    tools = ["filter", "banner", "Filter-2"] + (["dmarc"] if version == 2 else [])
    return Instrument.from_dict(
        {
            "id": PULSE_ID,
            "version": version,
            "title": "Pulse",
            "questions": [
                {
                    "id": "mood",
                    "type": "select_one",
                    "text": "Mood?",
                    "choices": ["good", "bad", "other"],
                    "other": "Which mood?",
                },
                {
                    "id": "tools",
                    "type": "select_multiple",
                    "text": "Tools?",
                    "choices": tools,
                    "exclusive": [],
                },
                {"id": "staff", "type": "decimal" if version == 1 else "integer", "text": "Staff?"},
                {"id": _LONG_QUESTION, "type": "integer", "text": "How many?", "minimum": 0},
                {"id": "note", "type": "text", "text": "Anything else?"},
            ],
        }
    )


def _answers(instrument: Instrument, raw: dict[str, Any]) -> dict[str, Any]:
    return instrument.clean_answers(raw)


def fill_store(store: Store, demo: int = 120) -> None:
    """Store demo responses in two waves, hand-made edge cases, an older version and the pulse."""
    current = default_instrument()
    frame = demo_responses(demo // 2)
    rows = [
        {
            "answers": current.clean_answers(r),
            "wave": str(w),
            "idempotency_key": f"demo-{i}",
            "source": "demo",
        }
        for i, (r, w) in enumerate(zip(current.records(frame), frame["wave"], strict=True))
    ]
    store.add_responses(current, rows)
    base = {
        "country": "US", "org_size": "lt250", "sector": "finance", "role": "security",
        "whaling_trend": "increased", "whaling_received": "no", "ciso_present": "no",
        "email_continuity": "no", "outages_12m": 0,
    }  # fmt: skip
    edge_cases = [
        {**base, "controls": []},  # a multi-select shown and left unticked
        {**base, "country": "other", "country_other": "  Narnia, \"north\"\nside ", "outages_12m": 3,
         "longest_outage_hours": 0.1, "incidents_12m": 999_999, "incidents_prev_12m": 0},
        {**base, "sector": "other", "sector_other": "=1+1", "role": "other", "role_other": "ciso's deputy",
         "whaling_received": "yes", "impersonated_roles": ["none_dont_know"], "ciso_present": "yes",
         "ciso_in_csuite": "no", "controls": ["payment_verification", "exec_training"]},
        {**base, "outages_12m": 2, "longest_outage_hours": 1e-9, "incidents_12m": 0},
    ]  # fmt: skip
    for wave, answers in zip(["2016-12", "2016-12", "2017-06", "2017-06"], edge_cases, strict=True):
        store.submit(current, answers, wave=wave)
    older = older_whaling()
    old_cases = [
        {**base, "controls": ["exec_training"], "incidents_12m": 5},
        {**base, "whaling_received": "yes", "impersonated_roles": ["ceo"], "controls": []},
        {**base, "whaling_received": "no"},  # impersonated_roles skipped: missing
    ]
    store.add_responses(
        older,
        [{"answers": _answers(older, a), "wave": "2015-12", "source": "import"} for a in old_cases],
    )
    store.submit(current, {**base, "country": "GB"}, wave="2015-12")
    first, second = pulse(1), pulse(2)
    store.add_responses(
        first,
        [
            {"answers": _answers(first, {"mood": "good", "tools": ["banner"], "staff": 12.0}), "wave": "p1"},
            {"answers": _answers(first, {"mood": "other", "mood_other": "meh", "staff": 3}), "wave": "p1"},
        ],
    )
    store.add_responses(
        second,
        [
            {
                "answers": _answers(second, {"tools": ["Filter-2", "dmarc"], _LONG_QUESTION: 2**40}),
                "wave": "p2",
            },
            {"answers": _answers(second, {"mood": "bad", "tools": [], "note": "  ünïcode ☃"}), "wave": "p2"},
        ],
    )
