"""Instruments as data: loading, validation, skip logic, answer cleaning and XLSForm import."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from surveykit import InstrumentError, default_instrument, demo_responses, load_instrument, read_xlsform
from surveykit.collection.instrument import MULTI_SEP

VALID_ANSWERS = {
    "country": "US",
    "org_size": "lt250",
    "sector": "finance",
    "role": "security",
    "whaling_trend": "increased",
    "whaling_received": "yes",
    "impersonated_roles": ["cfo", "ceo"],
    "ciso_present": "no",
    "email_continuity": "no",
    "outages_12m": "2",
    "longest_outage_hours": 3.5,
}


def test_bundled_instrument_covers_the_posture_questions():
    instrument = default_instrument()
    assert instrument.id == "whaling-posture"
    assert instrument.version == 2  # 2 added sections and "please specify" questions
    assert instrument.anonymous
    expected = {
        "country", "org_size", "sector", "role", "whaling_trend", "impersonated_roles", "ciso_present",
        "ciso_in_csuite", "controls", "email_continuity", "outages_12m", "longest_outage_hours",
        "incidents_12m", "incidents_prev_12m",
    }  # fmt: skip
    assert expected <= set(instrument.question_ids)
    assert instrument["country"].choice_names == ["US", "GB", "ZA", "AU", "other"]
    assert instrument["impersonated_roles"].choice_names == [
        "ceo", "cfo", "other_exec", "hr", "it", "legal", "none_dont_know",
    ]  # fmt: skip
    assert instrument["controls"].choice_names == [
        "exec_training", "simulated_tests", "external_banner", "lookalike_alerts",
        "defensive_domains", "payment_verification",
    ]  # fmt: skip
    assert instrument["org_size"].choice_names == ["lt250", "250_999", "1000_4999", "5000_plus"]


def test_bundled_instrument_has_sections_and_please_specify_questions():
    instrument = default_instrument()
    assert [(title, [q.id for q in questions]) for title, questions in instrument.sections] == [
        ("About your organisation",
         ["country", "country_other", "org_size", "sector", "sector_other", "role", "role_other"]),
        ("Whaling", ["whaling_trend", "whaling_received", "impersonated_roles"]),
        ("Security leadership", ["ciso_present", "ciso_in_csuite"]),
        ("Controls and continuity", ["controls", "email_continuity", "outages_12m", "longest_outage_hours"]),
        ("Incidents", ["incidents_12m", "incidents_prev_12m"]),
    ]  # fmt: skip
    follow_up = instrument["sector_other"]
    assert (follow_up.type, follow_up.specifies, follow_up.required) == ("text", "sector", False)
    assert instrument.is_relevant("sector_other", {"sector": "other"})
    assert not instrument.is_relevant("sector_other", {"sector": "retail"})
    cleaned = instrument.clean_answers({**VALID_ANSWERS, "sector": "other", "sector_other": " Shipping "})
    assert cleaned["sector_other"] == " Shipping"  # trailing space dropped, leading kept (no formula exposed)
    assert "country_other" not in cleaned  # not asked


def test_sections_and_other_survive_a_round_trip_through_to_dict():
    from surveykit import Instrument

    instrument = default_instrument()
    document = instrument.to_dict()
    assert "country_other" not in [q["id"] for q in document["questions"]]  # written as `other`
    assert [q.get("section") for q in document["questions"][:2]] == ["About your organisation", None]
    assert Instrument.from_dict(document) == instrument


def test_a_version_1_definition_without_sections_still_loads():
    from surveykit import Instrument

    document = default_instrument().to_dict()
    for question in document["questions"]:
        question.pop("section", None)
        question.pop("other", None)
    old = Instrument.from_dict({**document, "version": 1})
    assert [title for title, _ in old.sections] == [""]
    assert "sector_other" not in old.question_ids


def test_other_needs_an_other_choice_and_a_select_question():
    from surveykit import Instrument

    spec = {
        "id": "f",
        "version": 1,
        "title": "F",
        "questions": [
            {"id": "a", "type": "select_one", "text": "A", "choices": ["x", "y"], "other": "Which?"},
            {"id": "b", "type": "integer", "text": "B", "other": "Which?"},
            {"id": "c", "type": "select_multiple", "text": "C", "choices": ["x", "other"], "other": "Which?"},
        ],
    }
    with pytest.raises(InstrumentError) as info:
        Instrument.from_dict(spec)
    assert info.value.problems == [
        "question 'a': 'other' needs a choice named 'other' to follow up",
        "question 'b': 'other' only applies to select questions, not 'integer'",
    ]
    del spec["questions"][:2]
    instrument = Instrument.from_dict(spec)
    assert instrument.is_relevant("c_other", {"c": ["x", "other"]})
    assert not instrument.is_relevant("c_other", {"c": ["x"]})


def test_bundled_wording_survived_yaml_parsing():
    # An unquoted comma inside a YAML flow mapping silently cuts a label short.
    for question in default_instrument().questions:
        for text in [question.text, *(c.label for c in question.choices)]:
            assert text.count("(") == text.count(")"), (question.id, text)


def test_the_bundled_file_lives_in_data():
    root = Path(__file__).resolve().parent.parent
    from_data = load_instrument(root / "data" / "instruments" / "whaling_posture.yaml")
    assert from_data == default_instrument()


def test_csuite_question_is_asked_only_when_there_is_a_ciso():
    instrument = default_instrument()
    assert instrument.is_relevant("ciso_in_csuite", {"ciso_present": "yes"})
    assert not instrument.is_relevant("ciso_in_csuite", {"ciso_present": "no"})
    assert not instrument.is_relevant("ciso_in_csuite", {})
    assert instrument.is_relevant("longest_outage_hours", {"outages_12m": 1})
    assert not instrument.is_relevant("longest_outage_hours", {"outages_12m": 0})


def test_clean_answers_normalises_and_drops_hidden_answers():
    instrument = default_instrument()
    cleaned = instrument.clean_answers({**VALID_ANSWERS, "ciso_in_csuite": "yes"})
    assert cleaned["impersonated_roles"] == ["ceo", "cfo"]  # choice order, not tick order
    assert cleaned["outages_12m"] == 2 and isinstance(cleaned["outages_12m"], int)
    assert "ciso_in_csuite" not in cleaned  # hidden by skip logic: not kept
    assert cleaned["controls"] == []  # shown, nothing ticked: an answer of "none"


def test_clean_answers_lists_every_problem_by_question():
    instrument = default_instrument()
    bad = {
        **VALID_ANSWERS,
        "country": "FR",
        "impersonated_roles": ["ceo", "none_dont_know"],
        "outages_12m": "1.5",
        "longest_outage_hours": -2,
    }
    del bad["sector"]
    with pytest.raises(InstrumentError) as info:
        instrument.clean_answers(bad)
    text = str(info.value)
    for fragment in (
        "'country': 'FR' is not one of",
        "'sector': an answer is required",
        "'impersonated_roles': 'none_dont_know' cannot be combined",
        "'outages_12m': '1.5' is not a whole number",
    ):
        assert fragment in text
    assert len(info.value.problems) == 4


def test_tidy_expands_multi_select_to_boolean_columns():
    instrument = default_instrument()
    frame = instrument.tidy([instrument.clean_answers(VALID_ANSWERS)])
    assert frame.loc[0, f"impersonated_roles{MULTI_SEP}ceo"]
    assert not frame.loc[0, f"impersonated_roles{MULTI_SEP}hr"]
    assert frame[f"controls{MULTI_SEP}exec_training"].dtype == "boolean"
    assert frame["ciso_in_csuite"].isna().all()
    assert str(frame["outages_12m"].dtype) == "Int64"


def write_yaml(tmp_path: Path, spec: object) -> Path:
    path = tmp_path / "form.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_malformed_instrument_reports_every_problem_with_its_question(tmp_path):
    spec = {
        "id": "bad",
        "version": 0,
        "title": "Bad",
        "questions": [
            {"id": "ciso_present", "type": "select_one", "text": "CISO?", "choices": ["yes", "no"]},
            {"id": "ciso_present", "type": "select_one", "text": "Again?", "choices": ["yes"]},
            {"id": "size", "type": "select_one", "text": "Size?"},
            {"id": "csuite", "type": "select_one", "text": "C-suite?", "choices": ["yes"],
             "relevant": "${ciso_present} = 'maybe'"},
            {"id": "later", "type": "integer", "text": "N?", "relevant": "${future} > 1"},
            {"id": "future", "type": "dropdown", "text": "F?"},
            {"id": "Bad Id", "type": "text", "text": "x"},
        ],
    }  # fmt: skip
    with pytest.raises(InstrumentError) as info:
        load_instrument(write_yaml(tmp_path, spec))
    problems = "\n".join(info.value.problems)
    assert "'version' must be a positive integer, got 0" in problems
    assert "question 'ciso_present': duplicate id" in problems
    assert "question 'size': a select_one question needs a non-empty 'choices' list" in problems
    assert "question 'csuite': relevant compares 'ciso_present' with 'maybe'" in problems
    assert "question 'later': relevant refers to 'future', which is not an earlier question" in problems
    assert "question 'future': 'type' must be one of" in problems
    assert "question 'Bad Id': 'id' must be lower snake case" in problems
    assert len(info.value.problems) == 7


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("id: [unclosed", "could not be parsed"),
        ("- just\n- a list\n", "expected a mapping at the top level"),
        ("id: x\nversion: 1\ntitle: t\nquestions: []\n", "'questions' must be a non-empty list"),
    ],
)
def test_unreadable_instrument_files_give_one_clear_error(tmp_path, content, fragment):
    path = tmp_path / "form.yaml"
    path.write_text(content)
    with pytest.raises(InstrumentError, match=fragment):
        load_instrument(path)


@pytest.mark.parametrize(
    ("expression", "answers", "expected"),
    [
        ("${a} = 'x' and ${b} > 2", {"a": "x", "b": 3}, True),
        ("${a} = 'x' and ${b} > 2", {"a": "x", "b": 2}, False),
        ("${a} = 'y' or not(${b} >= 10)", {"a": "x", "b": 3}, True),
        ("selected(${m}, 'ceo')", {"m": ["ceo", "cfo"]}, True),
        ("selected(${m}, 'ceo')", {"m": ["cfo"]}, False),
        ("(${a} != 'x')", {}, True),
        ("${b} < 1", {}, False),
    ],
)
def test_skip_logic_expressions(expression, answers, expected):
    spec = {
        "id": "f",
        "version": 1,
        "title": "F",
        "questions": [
            {"id": "a", "type": "select_one", "text": "A", "choices": ["x", "y"]},
            {"id": "b", "type": "integer", "text": "B"},
            {"id": "m", "type": "select_multiple", "text": "M", "choices": ["ceo", "cfo"]},
            {"id": "q", "type": "text", "text": "Q", "relevant": expression},
        ],
    }
    from surveykit import Instrument

    assert Instrument.from_dict(spec).is_relevant("q", answers) is expected


def test_unparseable_expression_is_reported():
    from surveykit import Instrument

    spec = {
        "id": "f",
        "version": 1,
        "title": "F",
        "questions": [
            {"id": "a", "type": "integer", "text": "A"},
            {"id": "q", "type": "text", "text": "Q", "relevant": "${a} >> 2"},
        ],
    }
    with pytest.raises(InstrumentError, match=r"question 'q': relevant '\$\{a\} >> 2'"):
        Instrument.from_dict(spec)


def make_xlsform(path: Path, survey_rows: list[list[object]], version: object = "3") -> Path:
    book = openpyxl.Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", "label::English", "required", "relevant", "constraint"])
    for row in survey_rows:
        survey.append(row)
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", "label::English"])
    for name, label in [("yes", "Yes"), ("no", "No")]:
        choices.append(["yn", name, label])
    settings = book.create_sheet("settings")
    settings.append(["form_id", "form_title", "version"])
    settings.append(["ciso-check", "CISO check", version])
    book.save(path)
    return path


def test_xlsform_import(tmp_path):
    path = make_xlsform(
        tmp_path / "form.xlsx",
        [
            ["start", "start", None, None, None, None],
            ["select_one yn", "ciso_present", "Do you have a CISO?", "yes", None, None],
            ["select_one yn", "ciso_in_csuite", "Is the CISO in the C-suite?", "yes",
             "${ciso_present} = 'yes'", None],
            ["integer", "incidents_12m", "Incidents?", None, None, ". >= 0 and . <= 500"],
            ["note", "thanks", "Thank you", None, None, None],
        ],
    )  # fmt: skip
    instrument = load_instrument(path)
    assert (instrument.id, instrument.version, instrument.title) == ("ciso-check", 3, "CISO check")
    assert instrument.question_ids == ["ciso_present", "ciso_in_csuite", "incidents_12m"]
    assert instrument["ciso_present"].required
    assert instrument["incidents_12m"].minimum == 0 and instrument["incidents_12m"].maximum == 500
    assert not instrument.is_relevant("ciso_in_csuite", {"ciso_present": "no"})


def test_xlsform_groups_become_sections_and_or_other_a_please_specify_question(tmp_path):
    path = make_xlsform(
        tmp_path / "form.xlsx",
        [
            ["begin_group", "org", "About you", None, None, None],
            ["select_one yn or_other", "has_ciso", "Do you have a CISO?", "yes", None, None],
            ["begin group", "inner", None, None, None, None],
            ["integer", "staff", "How many staff?", None, None, None],
            ["end group", None, None, None, None, None],
            ["end_group", None, None, None, None, None],
            ["begin group", "later", "Incidents", None, None, None],
            ["integer", "incidents", "Incidents?", None, None, None],
            ["end group", None, None, None, None, None],
            ["text", "remarks", "Anything else?", None, None, None],
        ],
    )  # fmt: skip
    instrument = read_xlsform(path)
    assert [(t, [q.id for q in qs]) for t, qs in instrument.sections] == [
        ("About you", ["has_ciso", "has_ciso_other", "staff"]),  # an unlabelled group keeps its parent's
        ("Incidents", ["incidents"]),
        ("", ["remarks"]),
    ]
    assert instrument["has_ciso"].choice_names == ["yes", "no", "other"]
    assert instrument["has_ciso_other"].text == "Other, please specify"
    assert instrument.is_relevant("has_ciso_other", {"has_ciso": "other"})
    assert not instrument.is_relevant("has_ciso_other", {"has_ciso": "yes"})


def test_xlsform_with_unknown_list_and_type_is_rejected(tmp_path):
    path = make_xlsform(
        tmp_path / "form.xlsx",
        [
            ["select_one colours", "colour", "Colour?", None, None, None],
            ["geopoint", "where", "Where?", None, None, None],
        ],
    )
    with pytest.raises(InstrumentError) as info:
        read_xlsform(path)
    assert "choice list 'colours' is not on the choices sheet" in str(info.value)
    assert "type 'geopoint' is not supported" in str(info.value)


@pytest.mark.parametrize(("version", "stored"), [(2024010101, 2024010101), (7.0, 7), ("12", 12), (None, 1)])
def test_xlsform_version_is_a_whole_number(tmp_path, version, stored):
    path = make_xlsform(tmp_path / "form.xlsx", [["integer", "n", "N?", None, None, None]], version=version)
    assert read_xlsform(path).version == stored


@pytest.mark.parametrize("version", ["2024.1", "vGx3kPm", "0"])
def test_xlsform_version_that_is_not_a_whole_number_is_a_clear_error(tmp_path, version):
    # Found by a probe: "2024.1" crashed with an internal ValueError.
    path = make_xlsform(tmp_path / "form.xlsx", [["integer", "n", "N?", None, None, None]], version=version)
    with pytest.raises(InstrumentError, match=rf"settings sheet: version '{version}' is not a whole number"):
        read_xlsform(path)


def test_records_is_the_inverse_of_tidy():
    instrument = default_instrument()
    frame = demo_responses(60, seed=3)[instrument.columns]
    records = instrument.records(frame)
    assert all(value is not None for record in records for value in record.values())
    pd.testing.assert_frame_equal(instrument.tidy(records), frame.reset_index(drop=True))


def test_text_answers_keep_leading_white_space_so_no_formula_appears():
    # An imported "\t=1+1" was stored as "=1+1": stripping exposed a formula.
    instrument = default_instrument()
    cleaned = instrument.clean_answers({**VALID_ANSWERS, "role": "other", "role_other": "\t=1+1  "})
    assert cleaned["role_other"] == "\t=1+1"
    blank = instrument.clean_answers({**VALID_ANSWERS, "role": "other", "role_other": " \t "})
    assert blank["role_other"] is None
