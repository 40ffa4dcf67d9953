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

Question types and the ``relevant`` (skip logic) expressions follow XLSForm, so a form can be
imported from an XLSForm workbook with :func:`read_xlsform`. Supported expressions:
``${q} = 'v'``, ``!=``, ``>``, ``>=``, ``<``, ``<=`` against a quoted string or a number,
``selected(${q}, 'v')``, ``not(...)``, ``and``, ``or`` and parentheses.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import pandas as pd
import yaml

from surveykit.exceptions import InstrumentError

__all__ = [
    "MULTI_SEP",
    "Choice",
    "Instrument",
    "Question",
    "QuestionType",
    "default_instrument",
    "load_instrument",
    "read_xlsform",
]

QuestionType = Literal["select_one", "select_multiple", "integer", "decimal", "text"]
MULTI_SEP = "__"
"""Separator between a multi-select question id and a choice name in tidy column names."""

_QUESTION_TYPES: tuple[str, ...] = get_args(QuestionType)
_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
_DEFAULT_INSTRUMENT = Path(__file__).parent.parent / "data" / "whaling_posture.yaml"


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
    _conditions: dict[str, _Node] = field(default_factory=dict, repr=False, compare=False)

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
        conditions: dict[str, _Node] = {}
        seen: set[str] = set()
        for position, raw in enumerate(raw_questions, start=1):
            question = _parse_question(raw, position, problems)
            if question is None:
                continue
            if question.id in seen:
                problems.append(f"question {question.id!r}: duplicate id")
            if question.relevant:
                try:
                    node = _parse_expression(question.relevant)
                except InstrumentError as exc:
                    problems.append(f"question {question.id!r}: relevant {question.relevant!r}: {exc}")
                else:
                    known = {q.id: q for q in questions}
                    for ref in node.references():
                        if ref not in known:
                            problems.append(
                                f"question {question.id!r}: relevant refers to {ref!r}, which is not "
                                "an earlier question"
                            )
                    for ref, value in node.compared_values():
                        target = known.get(ref)
                        if target is not None and target.choices and value not in target.choice_names:
                            problems.append(
                                f"question {question.id!r}: relevant compares {ref!r} with {value!r}, "
                                f"which is not one of its choices {target.choice_names}"
                            )
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
                problems.append((question.id, raw, "an answer is required"))
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
        for q in self.questions:
            item: dict[str, Any] = {"id": q.id, "type": q.type, "text": q.text, "required": q.required}
            if q.choices:
                item["choices"] = [{"name": c.name, "label": c.label} for c in q.choices]
            for key in ("relevant", "minimum", "maximum"):
                if getattr(q, key) is not None:
                    item[key] = getattr(q, key)
            if q.exclusive:
                item["exclusive"] = list(q.exclusive)
            if q.hint:
                item["hint"] = q.hint
            out["questions"].append(item)
        return out


def load_instrument(path: str | Path) -> Instrument:
    """Read and validate an instrument from a YAML or JSON file, or an XLSForm workbook.

    Parameters
    ----------
    path : str or Path
        ``.yaml``/``.yml``, ``.json`` or ``.xlsx`` (XLSForm) file.

    Raises
    ------
    InstrumentError
        If the file cannot be read or parsed, or the instrument is invalid; the message lists
        every problem with the question it concerns.
    """
    path = Path(path)
    if not path.is_file():
        raise InstrumentError(f"Instrument file {str(path)!r} does not exist.")
    if path.suffix.lower() == ".xlsx":
        return read_xlsform(path)
    try:
        text = path.read_text(encoding="utf-8")
        spec = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InstrumentError(f"{path.name} could not be parsed: {exc}") from None
    return Instrument.from_dict(spec, source=path.name)


def default_instrument() -> Instrument:
    """The bundled "Whaling and email security posture" instrument."""
    return load_instrument(_DEFAULT_INSTRUMENT)


def read_xlsform(path: str | Path, form_id: str | None = None) -> Instrument:
    """Import an instrument from an XLSForm workbook.

    Reads the ``survey``, ``choices`` and optional ``settings`` sheets. Supported rows are
    ``select_one LIST``, ``select_multiple LIST``, ``integer``, ``decimal`` and ``text``;
    ``note``, ``start``, ``end`` and metadata rows are ignored. Columns used: ``type``,
    ``name``, ``label`` (or ``label::English``), ``required``, ``relevant``, ``hint`` and,
    for numbers, a ``constraint`` of the form ``. >= 0 and . <= 100``.

    Parameters
    ----------
    path : str or Path
        The ``.xlsx`` workbook.
    form_id : str, optional
        Instrument id when the settings sheet has no ``form_id``.

    Raises
    ------
    InstrumentError
        If a sheet or column is missing, a row type is unsupported, or the form is invalid.
    """
    import openpyxl

    path = Path(path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a non-workbook
        raise InstrumentError(f"{path.name} is not a readable Excel workbook: {exc}") from None
    sheets = {name.lower(): workbook[name] for name in workbook.sheetnames}
    if "survey" not in sheets:
        raise InstrumentError(f"{path.name}: an XLSForm needs a 'survey' sheet; found {workbook.sheetnames}")
    survey = _sheet_records(sheets["survey"])
    choices_rows = _sheet_records(sheets["choices"]) if "choices" in sheets else []
    settings_rows = _sheet_records(sheets["settings"]) if "settings" in sheets else []
    settings = settings_rows[0] if settings_rows else {}
    lists: dict[str, list[dict[str, str]]] = {}
    for row in choices_rows:
        list_name = row.get("list_name") or row.get("list name")
        if list_name and row.get("name") is not None:
            lists.setdefault(str(list_name), []).append(
                {"name": str(row["name"]), "label": str(_label(row) or row["name"])}
            )
    problems: list[str] = []
    questions: list[dict[str, Any]] = []
    for number, row in enumerate(survey, start=2):
        row_type = str(row.get("type") or "").strip()
        if not row_type:
            continue
        kind, _, list_name = row_type.partition(" ")
        if kind in _XLSFORM_IGNORED:
            continue
        name = row.get("name")
        where = f"survey row {number} ({name or row_type})"
        if kind not in _QUESTION_TYPES:
            problems.append(
                f"{where}: type {row_type!r} is not supported; use one of {list(_QUESTION_TYPES)}"
            )
            continue
        item: dict[str, Any] = {
            "id": name,
            "type": kind,
            "text": _label(row) or "",
            "required": str(row.get("required") or "").strip().lower() in {"yes", "true", "1"},
        }
        if row.get("relevant"):
            item["relevant"] = str(row["relevant"])
        if row.get("hint"):
            item["hint"] = str(row["hint"])
        if kind.startswith("select"):
            list_name = list_name.strip()
            if list_name not in lists:
                problems.append(f"{where}: choice list {list_name!r} is not on the choices sheet")
                continue
            item["choices"] = lists[list_name]
        constraint = row.get("constraint")
        if constraint and kind in {"integer", "decimal"}:
            for op, bound in re.findall(r"\.\s*(>=|<=)\s*(-?\d+(?:\.\d+)?)", str(constraint)):
                item["minimum" if op == ">=" else "maximum"] = float(bound)
        questions.append(item)
    if problems:
        raise InstrumentError(f"{path.name} is not a supported XLSForm:", problems)
    spec = {
        "id": settings.get("form_id") or form_id or path.stem,
        "version": int(str(settings.get("version") or 1).strip() or 1),
        "title": settings.get("form_title") or path.stem,
        "questions": questions,
    }
    return Instrument.from_dict(spec, source=path.name)


_XLSFORM_IGNORED = {
    "note", "start", "end", "today", "deviceid", "username", "begin", "end_group",
    "calculate", "audit", "phonenumber", "simserial", "subscriberid",
}  # fmt: skip


def _sheet_records(sheet: Any) -> list[dict[str, Any]]:
    rows = list(sheet.iter_rows(values_only=True))
    if not rows:
        return []
    header = [str(h).strip().lower() if h is not None else "" for h in rows[0]]
    return [
        {h: v for h, v in zip(header, row, strict=False) if h and v is not None}
        for row in rows[1:]
        if any(v is not None for v in row)
    ]


def _label(row: Mapping[str, Any]) -> str | None:
    if row.get("label"):
        return str(row["label"])
    for key, value in row.items():
        if key.startswith("label::") and value:
            return str(value)
    return None


def _parse_question(raw: Any, position: int, problems: list[str]) -> Question | None:
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
    if qtype not in _QUESTION_TYPES:
        problems.append(f"{where}: 'type' must be one of {list(_QUESTION_TYPES)}, got {qtype!r}")
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
    known_keys = {
        "id", "type", "text", "choices", "required", "relevant", "minimum", "maximum", "exclusive", "hint",
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
    return str(value).strip(), None


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


# --- skip-logic expressions -------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<ref>\$\{[a-z][a-z0-9_]*\})|(?P<str>'[^']*'|\"[^\"]*\")|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<op>!=|>=|<=|=|>|<)|(?P<word>and|or|not|selected)\b|(?P<punct>[(),]))"
)


class _Node:
    def evaluate(self, answers: Mapping[str, Any]) -> bool:
        raise NotImplementedError

    def references(self) -> set[str]:
        raise NotImplementedError

    def compared_values(self) -> list[tuple[str, str]]:
        return []


@dataclass(frozen=True)
class _Compare(_Node):
    ref: str
    op: str
    value: str | float

    def evaluate(self, answers: Mapping[str, Any]) -> bool:
        answer = answers.get(self.ref)
        if answer is None:
            # XLSForm compares an unanswered question as an empty string.
            return self.op == "!="
        if isinstance(self.value, float):
            try:
                left: Any = float(answer)
            except (TypeError, ValueError):
                return False
        else:
            left = str(answer)
        right = self.value
        return {
            "=": left == right,
            "!=": left != right,
            ">": left > right,
            ">=": left >= right,
            "<": left < right,
            "<=": left <= right,
        }[self.op]

    def references(self) -> set[str]:
        return {self.ref}

    def compared_values(self) -> list[tuple[str, str]]:
        return [(self.ref, self.value)] if isinstance(self.value, str) else []


@dataclass(frozen=True)
class _Selected(_Node):
    ref: str
    value: str

    def evaluate(self, answers: Mapping[str, Any]) -> bool:
        answer = answers.get(self.ref)
        if answer is None:
            return False
        if isinstance(answer, str):
            return answer == self.value
        return self.value in answer

    def references(self) -> set[str]:
        return {self.ref}

    def compared_values(self) -> list[tuple[str, str]]:
        return [(self.ref, self.value)]


@dataclass(frozen=True)
class _Logic(_Node):
    op: str
    parts: tuple[_Node, ...]

    def evaluate(self, answers: Mapping[str, Any]) -> bool:
        if self.op == "not":
            return not self.parts[0].evaluate(answers)
        results = (p.evaluate(answers) for p in self.parts)
        return all(results) if self.op == "and" else any(results)

    def references(self) -> set[str]:
        return set().union(*(p.references() for p in self.parts))

    def compared_values(self) -> list[tuple[str, str]]:
        return [pair for p in self.parts for pair in p.compared_values()]


def _tokenize(expression: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    expression = expression.rstrip()
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if not match or match.end() == position:
            raise InstrumentError(f"cannot read the expression at {expression[position:]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _parse_expression(expression: str) -> _Node:
    tokens = _tokenize(expression)
    position = 0

    def peek() -> tuple[str, str] | None:
        return tokens[position] if position < len(tokens) else None

    def take(kind: str, text: str | None = None) -> str:
        nonlocal position
        token = peek()
        if token is None or token[0] != kind or (text is not None and token[1] != text):
            found = "the end" if token is None else repr(token[1])
            raise InstrumentError(f"expected {text or kind} but found {found}")
        position += 1
        return token[1]

    def parse_or() -> _Node:
        parts = [parse_and()]
        while peek() == ("word", "or"):
            take("word", "or")
            parts.append(parse_and())
        return parts[0] if len(parts) == 1 else _Logic("or", tuple(parts))

    def parse_and() -> _Node:
        parts = [parse_atom()]
        while peek() == ("word", "and"):
            take("word", "and")
            parts.append(parse_atom())
        return parts[0] if len(parts) == 1 else _Logic("and", tuple(parts))

    def literal() -> str | float:
        token = peek()
        if token and token[0] == "str":
            return take("str")[1:-1]
        return float(take("num"))

    def parse_atom() -> _Node:
        token = peek()
        if token == ("punct", "("):
            take("punct", "(")
            node = parse_or()
            take("punct", ")")
            return node
        if token == ("word", "not"):
            take("word", "not")
            take("punct", "(")
            node = parse_or()
            take("punct", ")")
            return _Logic("not", (node,))
        if token == ("word", "selected"):
            take("word", "selected")
            take("punct", "(")
            ref = take("ref")[2:-1]
            take("punct", ",")
            value = take("str")[1:-1]
            take("punct", ")")
            return _Selected(ref, value)
        ref = take("ref")[2:-1]
        op = take("op")
        return _Compare(ref, op, literal())

    node = parse_or()
    if peek() is not None:
        raise InstrumentError(f"unexpected {peek()[1]!r} after a complete expression")
    return node
