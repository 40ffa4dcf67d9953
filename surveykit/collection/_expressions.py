"""XLSForm ``relevant`` (skip-logic) expressions: a tokenizer, a recursive-descent parser and its nodes.

Supported: ``${q} = 'v'``, ``!=``, ``>``, ``>=``, ``<``, ``<=`` against a quoted string or a number,
``selected(${q}, 'v')``, ``not(...)``, ``and``, ``or`` and parentheses. ``and`` binds tighter than
``or``, as in XPath.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from surveykit.exceptions import InstrumentError

__all__ = ["Compare", "Logic", "Node", "Selected", "parse_expression"]

_TOKEN = re.compile(
    r"\s*(?:(?P<ref>\$\{[a-z][a-z0-9_]*\})|(?P<str>'[^']*'|\"[^\"]*\")|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<op>!=|>=|<=|=|>|<)|(?P<word>and|or|not|selected)\b|(?P<punct>[(),]))"
)


class Node:
    """A parsed expression, or a part of one."""

    def evaluate(self, answers: Mapping[str, Any]) -> bool:
        """Whether the expression holds for answers keyed by question id (lists for multi-select)."""
        raise NotImplementedError

    def references(self) -> set[str]:
        """Ids of the questions the expression reads."""
        raise NotImplementedError

    def compared_values(self) -> list[tuple[str, str]]:
        """(question id, string value) pairs compared, so choice names can be checked."""
        return []


@dataclass(frozen=True)
class Compare(Node):
    """``${ref} op value``, against a string or a number."""

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
class Selected(Node):
    """``selected(${ref}, 'value')``: the choice is ticked (or chosen, for a select_one)."""

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
class Logic(Node):
    """``and``/``or`` over several parts, or ``not`` over one."""

    op: str
    parts: tuple[Node, ...]

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
    """Split an expression into (kind, text) tokens, the kinds being the group names of ``_TOKEN``."""
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


def parse_expression(expression: str) -> Node:
    """Parse a ``relevant`` expression.

    Parameters
    ----------
    expression : str
        For example ``${ciso_present} = 'yes' and not(selected(${controls}, 'none'))``.

    Returns
    -------
    Node
        The expression tree; its ``evaluate`` answers whether the question is asked.

    Raises
    ------
    InstrumentError
        Saying what was expected and what was found instead.
    """
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

    def parse_or() -> Node:
        parts = [parse_and()]
        while peek() == ("word", "or"):
            take("word", "or")
            parts.append(parse_and())
        return parts[0] if len(parts) == 1 else Logic("or", tuple(parts))

    def parse_and() -> Node:
        parts = [parse_atom()]
        while peek() == ("word", "and"):
            take("word", "and")
            parts.append(parse_atom())
        return parts[0] if len(parts) == 1 else Logic("and", tuple(parts))

    def literal() -> str | float:
        token = peek()
        if token and token[0] == "str":
            return take("str")[1:-1]
        return float(take("num"))

    def parse_atom() -> Node:
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
            return Logic("not", (node,))
        if token == ("word", "selected"):
            take("word", "selected")
            take("punct", "(")
            ref = take("ref")[2:-1]
            take("punct", ",")
            value = take("str")[1:-1]
            take("punct", ")")
            return Selected(ref, value)
        ref = take("ref")[2:-1]
        op = take("op")
        return Compare(ref, op, literal())

    node = parse_or()
    if peek() is not None:
        raise InstrumentError(f"unexpected {peek()[1]!r} after a complete expression")
    return node
