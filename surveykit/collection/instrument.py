"""Survey instruments: questions, choices and skip logic, declared as data.

An instrument is a YAML (or JSON) document::

    id: whaling-posture
    version: 1
    title: Whaling and email security posture
    anonymous: true
    questions:
      - id: ciso_present
        type: select_one
        text: Does your organisation have a Chief Information Security Officer?
        choices: [{name: "yes", label: "Yes"}, {name: "no", label: "No"}]
        required: true
      - id: ciso_in_csuite
        type: select_one
        text: Is your CISO a member of the C-suite?
        choices: [...]
        relevant: ${ciso_present} = 'yes'

Questions may be grouped into sections: a question's ``section`` starts a section with that title,
and the questions after it belong to it until the next ``section``. A select question with an
"other" choice may ask for the other answer in words: ``other: Please specify the country``
adds an optional text question ``<id>_other`` right after it, asked when "other" is chosen
(XLSForm's ``or_other``).

Question types and the ``relevant`` (skip logic) expressions follow XLSForm, so a form can be
imported from an XLSForm workbook (:mod:`surveykit.collection.xlsform`). The expressions supported
are listed in :mod:`surveykit.collection._expressions`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from surveykit._options import check_option
from surveykit.collection._expressions import Node, parse_expression
from surveykit.exceptions import InstrumentError

__all__ = [
    "ANSWER_REQUIRED",
    "MULTI_SEP",
    "OTHER_CHOICE",
    "Choice",
    "Instrument",
    "Question",
    "QuestionType",
]

QuestionType = Literal["select_one", "select_multiple", "integer", "decimal", "text"]
MULTI_SEP = "__"
"""Separator between a multi-select question id and a choice name in tidy column names."""

ANSWER_REQUIRED = "an answer is required"
"""The reason :meth:`Instrument.check_answers` gives for a required question left blank."""
OTHER_CHOICE = "other"
"""The choice name whose selection asks for the answer in words (see ``other`` in the YAML)."""

_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Choice:
    """One answer option of a select question."""

    name: str
    label: str


@dataclass(frozen=True)
class Question:
    """One question of an instrument.

    Attributes
    ----------
    id : str
        Identifier used as the column name (lower snake case).
    type : QuestionType
        ``select_one``, ``select_multiple``, ``integer``, ``decimal`` or ``text``.
    text : str
        The wording shown to respondents.
    choices : tuple of Choice
        Options of a select question; empty otherwise.
    required : bool
        Whether a respondent who is shown the question must answer it.
    relevant : str or None
        XLSForm-style skip-logic expression; the question is asked only when it is true.
    minimum, maximum : float or None
        Bounds for numeric answers.
    exclusive : tuple of str
        Choices of a multi-select question that cannot be combined with any other
        (for example "none / don't know").
    hint : str
        Help text shown under the question.
    section : str
        Title of the section the question belongs to ("" when the instrument has no sections).
    other : str
        Wording of the "please specify" question asked when the choice ``"other"`` is chosen;
        "" when there is none.
    specifies : str or None
        For a "please specify" question, the id of the select question whose "other" it explains.
    """

    id: str
    type: QuestionType
    text: str
    choices: tuple[Choice, ...] = ()
    required: bool = False
    relevant: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive: tuple[str, ...] = ()
    hint: str = ""
    section: str = ""
    other: str = ""
    specifies: str | None = None

    @property
    def choice_labels(self) -> dict[str, str]:
        """Choice labels keyed by choice name, in order."""
        return {c.name: c.label for c in self.choices}

    @property
    def choice_names(self) -> list[str]:
        """Names of the choices, in order."""
        return [c.name for c in self.choices]

    @property
    def columns(self) -> list[str]:
        """Columns this question occupies in a tidy response frame."""
        if self.type == "select_multiple":
            return [f"{self.id}{MULTI_SEP}{c.name}" for c in self.choices]
        return [self.id]


@dataclass(frozen=True)
class Instrument:
    """A validated survey instrument.

    Use :func:`load_instrument` to read one from a file; constructing one directly
    from a mapping goes through :meth:`from_dict`, which reports every problem at once.
    """

    id: str
    version: int
    title: str
    questions: tuple[Question, ...]
    description: str = ""
    anonymous: bool = True
    _conditions: dict[str, Node] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any], source: str = "instrument") -> Instrument:
        """Build and validate an instrument from a parsed document.

        Parameters
        ----------
        spec : mapping
            The parsed YAML/JSON document.
        source : str
            Where the document came from, used in error messages.

        Raises
        ------
        InstrumentError
            Listing every problem, each naming the question it concerns.
        """
        problems: list[str] = []
        if not isinstance(spec, Mapping):
            raise InstrumentError(f"{source}: expected a mapping at the top level, got {type(spec).__name__}")
        for key in ("id", "version", "title", "questions"):
            if key not in spec:
                problems.append(f"missing top-level key {key!r}")
        version = spec.get("version", 0)
        if "version" in spec and (not isinstance(version, int) or isinstance(version, bool) or version < 1):
            problems.append(f"'version' must be a positive integer, got {version!r}")
        raw_questions = spec.get("questions") or []
        if "questions" in spec and (not isinstance(raw_questions, list) or not raw_questions):
            problems.append("'questions' must be a non-empty list")
            raw_questions = []
        questions: list[Question] = []
        conditions: dict[str, Node] = {}
        seen: set[str] = set()
        section = ""
        for position, raw in enumerate(raw_questions, start=1):
            parsed = _parse_question(raw, position, problems, section)
            if parsed is None:
                continue
            section = parsed.section
            for question in (parsed, *_follow_ups(parsed)):
                if question.id in seen:
                    problems.append(f"question {question.id!r}: duplicate id")
                if question.relevant:
                    node = _condition(question, {q.id: q for q in questions}, problems)
                    if node is not None:
                        conditions[question.id] = node
                seen.add(question.id)
                questions.append(question)
        if problems:
            raise InstrumentError(f"{source} is not a valid instrument:", problems)
        return cls(
            id=str(spec["id"]),
            version=int(version),
            title=str(spec["title"]),
            description=str(spec.get("description", "")),
            anonymous=bool(spec.get("anonymous", True)),
            questions=tuple(questions),
            _conditions=conditions,
        )

    def __getitem__(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)

    @property
    def question_ids(self) -> list[str]:
        """Question ids in order."""
        return [q.id for q in self.questions]

    @property
    def sections(self) -> list[tuple[str, tuple[Question, ...]]]:
        """The questions grouped into sections, in order, as ``(title, questions)`` pairs.

        An instrument without section titles is one section titled "".
        """
        groups: list[tuple[str, list[Question]]] = []
        for question in self.questions:
            if not groups or groups[-1][0] != question.section:
                groups.append((question.section, []))
            groups[-1][1].append(question)
        return [(title, tuple(questions)) for title, questions in groups]

    @property
    def columns(self) -> list[str]:
        """Columns of the tidy response frame that hold answers, in question order."""
        return [c for q in self.questions for c in q.columns]

    def is_relevant(self, question_id: str, answers: Mapping[str, Any]) -> bool:
        """Whether a question is asked, given the answers so far.

        Parameters
        ----------
        question_id : str
            The question.
        answers : mapping
            Answers keyed by question id (lists for multi-select questions).
        """
        node = self._conditions.get(question_id)
        return True if node is None else bool(node.evaluate(answers))

    def clean_answers(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """Validate one respondent's answers and return them normalised.

        Answers to questions that skip logic hides are dropped; numbers are converted;
        multi-select answers become lists in choice order (an empty list when the question
        was shown and nothing was ticked).

        Parameters
        ----------
        answers : mapping
            Raw answers keyed by question id.

        Returns
        -------
        dict
            Answers to the questions that were asked (``None`` where left blank).

        Raises
        ------
        InstrumentError
            Listing every problem, each naming its question.
        """
        cleaned, problems = self.check_answers(answers)
        if problems:
            raise InstrumentError(
                "The response is not valid:", [f"question {q!r}: {reason}" for q, _, reason in problems]
            )
        return cleaned

    def check_answers(self, answers: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, Any, str]]]:
        """Validate answers without raising.

        Returns
        -------
        cleaned : dict
            Normalised answers to the questions that were asked.
        problems : list of (question_id, value, reason)
            Every problem found; empty when the answers are valid.
        """
        problems: list[tuple[str, Any, str]] = []
        for question_id in sorted(set(answers) - set(self.question_ids)):
            problems.append((question_id, answers[question_id], "not a question of this instrument"))
        cleaned: dict[str, Any] = {}
        for question in self.questions:
            if not self.is_relevant(question.id, cleaned):
                continue
            raw = answers.get(question.id)
            value, reason = _clean_value(question, raw)
            if reason is not None:
                problems.append((question.id, raw, reason))
            elif question.type == "select_multiple" and value is None:
                value = []  # shown and left unticked means "none of these", which is an answer
            if reason is None and question.required and (value is None or value == []):
                problems.append((question.id, raw, ANSWER_REQUIRED))
            cleaned[question.id] = value
        return cleaned, problems

    def tidy(self, records: list[Mapping[str, Any]]) -> pd.DataFrame:
        """Turn cleaned answer dictionaries into a tidy frame, one row per respondent.

        Multi-select questions expand to one nullable boolean column per choice, named
        ``f"{question}{MULTI_SEP}{choice}"``; unasked questions are missing.
        """
        data: dict[str, pd.Series] = {}
        n = len(records)
        for question in self.questions:
            raw = [r.get(question.id) for r in records]
            if question.type == "select_multiple":
                for choice in question.choices:
                    values = [None if v is None else choice.name in v for v in raw]
                    data[f"{question.id}{MULTI_SEP}{choice.name}"] = pd.Series(values, dtype="boolean")
            elif question.type == "integer":
                data[question.id] = pd.Series(raw, dtype="Int64")
            elif question.type == "decimal":
                data[question.id] = pd.Series(raw, dtype="Float64")
            else:
                data[question.id] = pd.Series(raw, dtype="string")
        frame = pd.DataFrame(data, index=pd.RangeIndex(n))
        return frame

    def records(self, frame: pd.DataFrame) -> list[dict[str, Any]]:
        """Answer dictionaries, one per row of a tidy frame: the inverse of :meth:`tidy`.

        Missing answers are left out; a multi-select question answered with nothing ticked
        becomes an empty list.
        """
        records: list[dict[str, Any]] = [{} for _ in range(len(frame))]
        for question in self.questions:
            if question.type == "select_multiple":
                block = frame[question.columns].to_numpy(dtype=object, na_value=None)
                for record, row in zip(records, block, strict=True):
                    if row[0] is not None:
                        record[question.id] = [
                            c.name for c, ticked in zip(question.choices, row, strict=True) if ticked
                        ]
            else:
                values = frame[question.id].to_numpy(dtype=object, na_value=None)
                for record, value in zip(records, values, strict=True):
                    if value is not None:
                        record[question.id] = value.item() if hasattr(value, "item") else value
        return records

    def to_dict(self) -> dict[str, Any]:
        """The instrument as a plain document, suitable for YAML or JSON."""
        out: dict[str, Any] = {
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "description": self.description,
            "anonymous": self.anonymous,
            "questions": [],
        }
        section = ""
        for q in self.questions:
            if q.specifies is not None:
                continue  # written as its select question's ``other``
            item: dict[str, Any] = {"id": q.id, "type": q.type, "text": q.text, "required": q.required}
            if q.section != section:
                item["section"] = section = q.section
            if q.choices:
                item["choices"] = [{"name": c.name, "label": c.label} for c in q.choices]
            for key in ("relevant", "minimum", "maximum"):
                if getattr(q, key) is not None:
                    item[key] = getattr(q, key)
            if q.exclusive:
                item["exclusive"] = list(q.exclusive)
            if q.hint:
                item["hint"] = q.hint
            if q.other:
                item["other"] = q.other
            out["questions"].append(item)
        return out


def _condition(question: Question, known: Mapping[str, Question], problems: list[str]) -> Node | None:
    """Parse a question's skip logic, checking it reads earlier questions and their choices."""
    try:
        node = parse_expression(question.relevant or "")
    except InstrumentError as exc:
        problems.append(f"question {question.id!r}: relevant {question.relevant!r}: {exc}")
        return None
    for ref in node.references():
        if ref not in known:
            problems.append(
                f"question {question.id!r}: relevant refers to {ref!r}, which is not an earlier question"
            )
    for ref, value in node.compared_values():
        target = known.get(ref)
        if target is not None and target.choices and value not in target.choice_names:
            problems.append(
                f"question {question.id!r}: relevant compares {ref!r} with {value!r}, "
                f"which is not one of its choices {target.choice_names}"
            )
    return node


def _follow_ups(question: Question) -> tuple[Question, ...]:
    """The "please specify" question a select question's ``other`` asks for, if any."""
    if not question.other:
        return ()
    if question.type == "select_multiple":
        relevant = f"selected(${{{question.id}}}, '{OTHER_CHOICE}')"
    else:
        relevant = f"${{{question.id}}} = '{OTHER_CHOICE}'"
    follow_up = Question(
        id=f"{question.id}_other",
        type="text",
        text=question.other,
        relevant=relevant,
        section=question.section,
        specifies=question.id,
    )
    return (follow_up,)


def _parse_question(raw: Any, position: int, problems: list[str], section: str) -> Question | None:
    """One question; ``section`` is the title in force, which a ``section`` key replaces."""
    if not isinstance(raw, Mapping):
        problems.append(f"question #{position}: expected a mapping, got {raw!r}")
        return None
    qid = raw.get("id")
    where = f"question {qid!r}" if qid else f"question #{position}"
    before = len(problems)
    if not isinstance(qid, str) or not _ID_PATTERN.match(qid) or MULTI_SEP in qid:
        problems.append(
            f"{where}: 'id' must be lower snake case (letters, digits, single underscores), got {qid!r}"
        )
    qtype = raw.get("type")
    try:
        check_option(f"{where}: 'type'", qtype, QuestionType, error=InstrumentError)
    except InstrumentError as exc:
        problems.append(str(exc))  # collected, so every problem of the instrument is reported at once
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.append(f"{where}: 'text' (the wording) is missing")
    choices: list[Choice] = []
    raw_choices = raw.get("choices") or []
    if qtype in {"select_one", "select_multiple"}:
        if not isinstance(raw_choices, list) or not raw_choices:
            problems.append(f"{where}: a {qtype} question needs a non-empty 'choices' list")
            raw_choices = []
        for item in raw_choices:
            if isinstance(item, Mapping) and item.get("name") is not None:
                name = str(item["name"])
                label = str(item.get("label", name))
            elif isinstance(item, str | int | float) and not isinstance(item, bool):
                name = label = str(item)
            else:
                problems.append(f"{where}: choice {item!r} needs a 'name'")
                continue
            if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$", name):
                problems.append(f"{where}: choice name {name!r} may hold only letters, digits, _ and -")
            choices.append(Choice(name, label))
        names = [c.name for c in choices]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            problems.append(f"{where}: duplicate choice names {duplicates}")
    elif raw_choices:
        problems.append(f"{where}: 'choices' only apply to select questions, not {qtype!r}")
    exclusive = tuple(str(x) for x in raw.get("exclusive") or ())
    if exclusive and qtype != "select_multiple":
        problems.append(f"{where}: 'exclusive' only applies to select_multiple questions")
    missing = [x for x in exclusive if x not in {c.name for c in choices}]
    if missing:
        problems.append(f"{where}: exclusive choices {missing} are not among its choices")
    bounds: dict[str, float | None] = {}
    for key in ("minimum", "maximum"):
        value = raw.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            problems.append(f"{where}: {key!r} must be a number, got {value!r}")
            value = None
        elif value is not None and qtype not in {"integer", "decimal"}:
            problems.append(f"{where}: {key!r} only applies to integer and decimal questions")
        bounds[key] = value
    if (
        bounds["minimum"] is not None
        and bounds["maximum"] is not None
        and bounds["minimum"] > bounds["maximum"]
    ):
        problems.append(f"{where}: minimum {bounds['minimum']} exceeds maximum {bounds['maximum']}")
    relevant = raw.get("relevant")
    if relevant is not None and not isinstance(relevant, str):
        problems.append(f"{where}: 'relevant' must be an expression string, got {relevant!r}")
    if "section" in raw:
        if not isinstance(raw["section"], str):
            problems.append(f"{where}: 'section' must be a title, got {raw['section']!r}")
        else:
            section = raw["section"].strip()
    other = raw.get("other", "")
    if other:
        if not isinstance(other, str):
            problems.append(f"{where}: 'other' must be the wording of the follow-up question, got {other!r}")
        elif qtype not in {"select_one", "select_multiple"}:
            problems.append(f"{where}: 'other' only applies to select questions, not {qtype!r}")
        elif OTHER_CHOICE not in {c.name for c in choices}:
            problems.append(f"{where}: 'other' needs a choice named {OTHER_CHOICE!r} to follow up")
    known_keys = {
        "id", "type", "text", "choices", "required", "relevant", "minimum", "maximum", "exclusive", "hint",
        "section", "other",
    }  # fmt: skip
    extra = sorted(set(raw) - known_keys)
    if extra:
        problems.append(f"{where}: unknown keys {extra}; allowed are {sorted(known_keys)}")
    if len(problems) > before:
        return None
    return Question(
        id=qid,
        type=qtype,
        text=text.strip(),
        choices=tuple(choices),
        required=bool(raw.get("required", False)),
        relevant=relevant,
        minimum=bounds["minimum"],
        maximum=bounds["maximum"],
        exclusive=exclusive,
        hint=str(raw.get("hint", "")),
        section=section,
        other=other.strip() if isinstance(other, str) else "",
    )


def _is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str) and not value.strip():
        return True
    return isinstance(value, list | tuple | set) and not value


def _clean_value(question: Question, value: Any) -> tuple[Any, str | None]:
    """Normalise one answer; returns (value, None) or (None, reason)."""
    if _is_blank(value):
        return None, None
    if question.type == "select_one":
        value = str(value)
        if value not in question.choice_names:
            return None, f"{value!r} is not one of {question.choice_names}"
        return value, None
    if question.type == "select_multiple":
        values = value.split() if isinstance(value, str) else [str(v) for v in value]
        bad = [v for v in values if v not in question.choice_names]
        if bad:
            return None, f"{bad} are not among {question.choice_names}"
        exclusive = [v for v in values if v in question.exclusive]
        if exclusive and len(set(values)) > 1:
            return None, f"{exclusive[0]!r} cannot be combined with other choices"
        return [c for c in question.choice_names if c in values], None
    if question.type in {"integer", "decimal"}:
        return _clean_number(question, value)
    # Leading white space is kept: stripping "\t=1+1" would turn harmless text into a formula.
    return str(value).rstrip(), None


def _clean_number(question: Question, value: Any) -> tuple[float | int | None, str | None]:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None, f"{value!r} is not a number"
    if not math.isfinite(number):
        return None, f"{value!r} is not a finite number"
    if question.type == "integer":
        if number != int(number):
            return None, f"{value!r} is not a whole number"
        number = int(number)
    if question.minimum is not None and number < question.minimum:
        return None, f"{value!r} is below the minimum {question.minimum:g}"
    if question.maximum is not None and number > question.maximum:
        return None, f"{value!r} is above the maximum {question.maximum:g}"
    return number, None
