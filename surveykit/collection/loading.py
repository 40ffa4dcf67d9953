"""Loading an instrument from a file: YAML, JSON or an XLSForm workbook, and the bundled one."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from surveykit.collection.instrument import Instrument
from surveykit.collection.xlsform import read_xlsform
from surveykit.exceptions import InstrumentError

__all__ = ["default_instrument", "load_instrument"]

_DEFAULT_INSTRUMENT = Path(__file__).parent.parent / "data" / "whaling_posture.yaml"


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
