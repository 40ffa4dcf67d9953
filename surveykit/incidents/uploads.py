"""Uploaded incident logs: a file's name and bytes checked as the readers would check a path.

An app receives a file as a name and its bytes. :func:`validate_upload` writes them to a
private temporary folder and validates them with
:func:`~surveykit.incidents.reading.validate_incidents`, so an upload is read exactly as the
same file on disk would be. The format comes from the name's extension:

- ``.csv``, ``.tsv``, ``.txt``: delimited text. Bytes that are not UTF-8 are read as
  Windows-1252 (as the readers do), with a note naming the first byte that is not UTF-8;
  a file with NUL bytes (UTF-16, or not text at all) is refused;
- ``.xlsx``, ``.xlsm``: a workbook, its first sheet;
- ``.json``: one VERIS record or an array of them;
- ``.zip``: a VCDB-style folder of VERIS JSON files, one incident per file. Files that are not
  JSON (a README, ``__MACOSX/``) are left out with a note. The archive is refused, and nothing
  unpacked, when an entry has an absolute path or ``..``, is a link, is encrypted, or when the
  archive holds more files or unpacks to more bytes than the limits allow
  (``max_archive_files`` and ``max_unpacked_bytes`` of :func:`surveykit._limits.current_limits`;
  the bytes actually inflated are counted, not only the sizes the archive claims).
"""

from __future__ import annotations

import io
import re
import stat
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath, PureWindowsPath

from surveykit._limits import current_limits
from surveykit._spreadsheet import write_csv
from surveykit.exceptions import DataRepairWarning, SurveykitError
from surveykit.incidents.reading import IncidentValidation, validate_incidents

__all__ = [
    "UPLOAD_TYPES",
    "CheckedUpload",
    "problems_csv",
    "validate_upload",
]

UPLOAD_TYPES: tuple[str, ...] = ("csv", "tsv", "txt", "xlsx", "xlsm", "json", "zip")
"""File extensions :func:`validate_upload` reads (an app's file picker offers these)."""

_FORMATS = {
    "csv": "csv",
    "tsv": "csv",
    "txt": "csv",
    "xlsx": "xlsx",
    "xlsm": "xlsx",
    "json": "veris",
    "zip": "veris",
}
_CHUNK = 1 << 20


@dataclass(frozen=True)
class CheckedUpload:
    """An uploaded incident log, read and validated.

    Attributes
    ----------
    name : str
        The file name as uploaded.
    format : str
        ``"csv"``, ``"xlsx"``, ``"veris"`` (one JSON file) or ``"veris zip"``.
    validation : IncidentValidation
        The valid incidents, every problem and repair; its ``source`` is ``name``.
    notes : list of str
        What was read differently from the file's face: the text encoding used, files of a
        ZIP that were left out.
    """

    name: str
    format: str
    validation: IncidentValidation
    notes: list[str] = field(default_factory=list)

    @property
    def valid(self) -> int:
        """Valid incidents (repeats within the file counted once)."""
        return len(self.validation.incidents)

    @property
    def bad_rows(self) -> int:
        """Rows (or VERIS files and records) with at least one problem."""
        return len({p.row for p in self.validation.problems})

    @property
    def records(self) -> int:
        """Rows (or VERIS records and unreadable files) read: valid, bad and repeated."""
        return self.valid + self.bad_rows + self.validation.duplicates


def validate_upload(
    name: str,
    data: bytes,
    *,
    mapping: Mapping[str, str] | None = None,
    sheet: str | int | None = None,
    date_format: str | None = None,
    progress: Callable[[float, str], None] | None = None,
    max_files: int | None = None,
    max_bytes: int | None = None,
) -> CheckedUpload:
    """Read and validate an uploaded incident log from its name and bytes.

    Parameters
    ----------
    name : str
        The uploaded file's name; its extension (one of :data:`UPLOAD_TYPES`) gives the format.
    data : bytes
        The file's content.
    mapping, sheet, date_format
        As for :func:`~surveykit.incidents.reading.read_incidents`.
    progress : callable, optional
        Called as ``progress(share_done, message)`` while unpacking, reading and checking.
    max_files, max_bytes : int, optional
        Limits on a ZIP upload (entries, and bytes once unpacked) and on an XLSX workbook's
        unpacked bytes; by default the ``max_archive_files`` and ``max_unpacked_bytes`` limits
        in force (``SURVEYKIT_LIMIT_MAX_ARCHIVE_FILES``, ``SURVEYKIT_LIMIT_MAX_UNPACKED_BYTES``).

    Returns
    -------
    CheckedUpload

    Raises
    ------
    SurveykitError
        If the file cannot be read at all: an unknown extension, no bytes, not text, not a
        workbook, not JSON, an unsafe or oversized ZIP, no recognisable columns. The message
        names the file and, where there is one, the entry, line or byte at fault.

    Examples
    --------
    >>> checked = validate_upload("log.csv", b"incident_id,date\\nA-1,2016-03-01\\n")
    >>> checked.valid, checked.bad_rows
    (1, 0)
    """
    shown = PurePosixPath(PureWindowsPath(name).as_posix()).name.strip() or "upload"
    extension = shown.rsplit(".", 1)[-1].lower() if "." in shown else ""
    if extension not in _FORMATS:
        kinds = ", ".join(f".{t}" for t in UPLOAD_TYPES)
        raise SurveykitError(
            f"{shown}: cannot import this kind of file; upload a CSV, XLSX or VERIS JSON file, or a "
            f"ZIP of VERIS JSON files ({kinds})."
        )
    if not data or data.isspace():
        raise SurveykitError(f"{shown}: the file is empty; it has no header and no rows.")
    limits = current_limits()
    max_files = limits.max_archive_files if max_files is None else max_files
    max_bytes = limits.max_unpacked_bytes if max_bytes is None else max_bytes
    notes: list[str] = []
    report = progress or (lambda done, text: None)
    with tempfile.TemporaryDirectory(prefix="surveykit-upload-") as folder:
        # The name on disk is tamed; messages from the readers then name the file as uploaded.
        safe = re.sub(r"[^\w.\- ]", "_", shown).lstrip(".") or f"upload.{extension}"
        path = Path(folder) / safe
        kind = _FORMATS[extension]
        reading = report
        if extension == "zip":
            kind = "veris zip"
            path = Path(folder) / "veris"
            path.mkdir()
            notes += _unpack_json(shown, data, path, max_files, max_bytes, lambda d, t: report(0.3 * d, t))
            reading = lambda done, text: report(0.3 + 0.7 * done, text)  # noqa: E731
        else:
            if kind == "csv":
                notes += _check_text(shown, data)
            elif kind == "xlsx":
                _check_workbook(shown, data, max_bytes)
            path.write_bytes(data)
        try:
            with warnings.catch_warnings():
                # The repairs are returned in the validation; the app lists them.
                warnings.simplefilter("ignore", DataRepairWarning)
                checked = validate_incidents(
                    path,
                    "csv" if kind == "csv" else "xlsx" if kind == "xlsx" else "veris",
                    mapping,
                    sheet=sheet,
                    date_format=date_format,
                    source=shown,
                    progress=reading,
                )
        except SurveykitError as error:
            message = str(error).replace(safe, shown)
            raise SurveykitError(message if message.startswith(shown) else f"{shown}: {message}") from None
    checked = replace(checked, source=shown)
    if kind == "veris" and not len(checked.incidents) and _whole_file_failed(checked):
        raise SurveykitError(f"{shown}: {checked.problems[0].reason}.")
    return CheckedUpload(shown, kind, checked, notes)


def problems_csv(checked: IncidentValidation) -> bytes:
    """The problems of a validated log as CSV bytes (``row, column, value, reason``), UTF-8.

    Text that a spreadsheet would run as a formula gets a leading apostrophe.
    """
    buffer = io.StringIO()
    write_csv(checked.problems_frame(), buffer, "the problems")
    return buffer.getvalue().encode("utf-8")


def _whole_file_failed(checked: IncidentValidation) -> bool:
    """Whether a single JSON file was refused as a whole (not JSON, not UTF-8)."""
    return len(checked.problems) == 1 and checked.problems[0].column == "" and not checked.rows


def _check_text(name: str, data: bytes) -> list[str]:
    nul = data.find(b"\x00")
    if nul >= 0:
        hint = " (it looks like UTF-16 text)" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        raise SurveykitError(
            f"{name}: not a text file{hint}: byte {nul + 1:,} is a NUL byte. Save it as CSV "
            "(UTF-8) and upload it again."
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return [
            f"{name} is not UTF-8 (byte 0x{data[exc.start]:02X} on line {line:,}, column {column:,} is "
            "not UTF-8), so it was read as Windows-1252. Check accented text in the preview, or "
            "save the file as CSV (UTF-8)."
        ]
    return []


def _check_workbook(name: str, data: bytes, max_bytes: int) -> None:
    if not data.startswith(b"PK"):
        raise SurveykitError(
            f"{name}: not an XLSX workbook (an .xlsx file is a ZIP archive, and this one does not "
            "start like one). Save it from Excel as .xlsx, or export a CSV."
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            claimed = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise SurveykitError(f"{name}: the workbook is damaged ({exc}); save it again from Excel.") from None
    if claimed > max_bytes:
        raise SurveykitError(
            f"{name}: the workbook unpacks to {claimed:,} bytes, more than the {max_bytes:,} allowed."
        )


def _unpack_json(
    name: str,
    data: bytes,
    folder: Path,
    max_files: int,
    max_bytes: int,
    report: Callable[[float, str], None],
) -> list[str]:
    """Unpack the JSON files of a ZIP flat into ``folder`` after checking every entry."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise SurveykitError(f"{name}: not a readable ZIP archive ({exc}).") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > max_files:
            raise SurveykitError(
                f"{name}: the archive holds {len(entries):,} files, more than the {max_files:,} "
                "allowed; split it into smaller archives."
            )
        claimed = 0
        for entry in entries:
            _check_entry(name, entry)
            claimed += entry.file_size
        if claimed > max_bytes:
            raise SurveykitError(
                f"{name}: the archive unpacks to {claimed:,} bytes, more than the {max_bytes:,} allowed."
            )
        chosen: dict[str, str] = {}
        skipped = 0
        for entry in entries:
            if entry.is_dir():
                continue
            parts = PurePosixPath(entry.filename.replace("\\", "/")).parts
            hidden = any(part.startswith(".") or part == "__MACOSX" for part in parts)
            if hidden or not parts[-1].lower().endswith(".json"):
                skipped += 1
                continue
            if parts[-1] in chosen:
                raise SurveykitError(
                    f"{name}: two entries are called {parts[-1]!r} ({chosen[parts[-1]]} and "
                    f"{entry.filename}); VERIS files need distinct names."
                )
            chosen[parts[-1]] = entry.filename
        if not chosen:
            raise SurveykitError(
                f"{name}: no .json files in the archive; a VCDB-style ZIP holds one VERIS JSON file "
                "per incident."
            )
        budget = max_bytes
        step = max(1, len(chosen) // 100)
        for number, (base, inner) in enumerate(chosen.items()):
            if number % step == 0:
                report(number / len(chosen), f"Unpacking file {number + 1:,} of {len(chosen):,}")
            budget -= _inflate(name, archive, archive.getinfo(inner), folder / base, budget)
    notes = []
    if skipped:
        notes.append(f"{name}: {skipped:,} entries that are not VERIS JSON files were left out.")
    return notes


def _check_entry(name: str, entry: zipfile.ZipInfo) -> None:
    inner = entry.filename
    posix = inner.replace("\\", "/")
    if posix.startswith("/") or PureWindowsPath(inner).drive:
        raise SurveykitError(f"{name}: entry {inner!r} has an absolute path; nothing was unpacked.")
    if ".." in posix.split("/"):
        raise SurveykitError(
            f"{name}: entry {inner!r} points outside the archive's folder (..); nothing was unpacked."
        )
    if stat.S_ISLNK(entry.external_attr >> 16):
        raise SurveykitError(f"{name}: entry {inner!r} is a symbolic link; nothing was unpacked.")
    if entry.flag_bits & 0x1:
        raise SurveykitError(f"{name}: entry {inner!r} is encrypted; upload an archive without a password.")


def _inflate(name: str, archive: zipfile.ZipFile, entry: zipfile.ZipInfo, target: Path, budget: int) -> int:
    """Write one entry, stopping as soon as it inflates past its stated size or the budget."""
    limit = min(entry.file_size, budget)
    written = 0
    try:
        with archive.open(entry) as source, target.open("wb") as sink:
            while chunk := source.read(_CHUNK):
                written += len(chunk)
                if written > limit:
                    raise SurveykitError(
                        f"{name}: entry {entry.filename!r} unpacks to more bytes than the archive "
                        "says or allows; nothing was imported."
                    )
                sink.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise SurveykitError(f"{name}: entry {entry.filename!r} cannot be unpacked ({exc}).") from None
    return written
