"""One check for every option argument, built from the option's ``Literal`` type."""

from __future__ import annotations

from typing import Any, get_args

from surveykit.exceptions import SurveykitError

__all__ = ["check_option", "option_values"]


def option_values(options: Any) -> tuple[str, ...]:
    """The values a ``Literal[...]`` option type allows, in their declared order."""
    values = get_args(options)
    if not values:
        raise TypeError(f"{options!r} is not a Literal type")
    return values


def check_option(name: str, value: object, options: Any, error: type[SurveykitError] = SurveykitError) -> str:
    """Return ``value`` if the ``Literal`` type ``options`` allows it, else raise naming the choices.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        The value received.
    options : Literal type
        The allowed values, e.g. ``Literal["logit", "beta"]``.
    error : type
        The SurveykitError subclass to raise.
    """
    allowed = option_values(options)
    if value not in allowed:
        raise error(f"{name} must be one of {list(allowed)}; got {value!r}")
    return value  # type: ignore[return-value]
