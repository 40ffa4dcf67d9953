"""The ``surveykit`` command line.

Every subcommand takes the global ``--db URL`` (default: ``SURVEYKIT_DB_URL`` or a SQLite file
``surveykit.db`` in the current folder). Errors print one line and exit with status 2;
nothing prints a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from surveykit._options import option_values
from surveykit.exceptions import SurveykitError
from surveykit.incidents.reading import Format

if TYPE_CHECKING:
    import pandas as pd

    from surveykit.collection.store import Store

__all__ = ["main"]

_EPILOG = "The database URL may also be set with SURVEYKIT_DB_URL. Docs: README.md"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="surveykit",
        description="Security posture surveys and incident analytics with defensible statistics.",
        epilog=_EPILOG,
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="store to use: sqlite:///file.db, a file path, or postgresql://user:pw@host/db "
        "(default: $SURVEYKIT_DB_URL or sqlite:///surveykit.db)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo",
        help="load the demo survey waves, incident log and demo analyst login",
        description="Load the seeded demo data: two survey waves (December 2015 and 2016), an "
        "incident log for 2014-2016, and an analyst login 'analyst' / 'demo' if none exists; and "
        "open the wave 2017-12 to anyone, so the survey form takes answers; and store the demo population "
        "margins for weighting when none are set. Loading twice adds nothing.",
    )
    demo.add_argument("--seed", type=int, default=2016, help="random seed (default: 2016)")
    demo.set_defaults(run=_demo)

    responses = commands.add_parser(
        "import-responses",
        help="import survey responses from CSV or XLSX",
        description="Import responses from a CSV or XLSX file with one column per question "
        "(multi-select answers as space-separated choice names, or one 0/1 column per choice "
        "named question__choice). Every row is validated against the instrument; by default "
        "the import is all-or-nothing.",
    )
    responses.add_argument("path", type=Path, help="CSV or XLSX file")
    responses.add_argument("--wave", help="survey wave for rows without a 'wave' column, e.g. 2016-12")
    responses.add_argument(
        "--instrument", type=Path, help="instrument file (YAML, JSON or XLSForm); default: the stored one"
    )
    _add_import_options(responses)
    responses.set_defaults(run=_import_responses)

    incidents = commands.add_parser(
        "import-incidents",
        help="import an incident log (CSV, XLSX, Parquet or VERIS JSON)",
        description="Import incidents from CSV, XLSX, Parquet or VERIS JSON (file, array or directory). "
        "Every row is validated; by default the import is all-or-nothing. Incidents already "
        "stored (same id) are skipped.",
    )
    incidents.add_argument(
        "path", type=Path, help="CSV, XLSX, Parquet, JSON file or folder of VERIS JSON files"
    )
    incidents.add_argument("--format", choices=option_values(Format), help="override the detected format")
    incidents.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="HEADER=FIELD",
        help="map a column header to a canonical field, e.g. --map 'Ticket No=incident_id' (repeatable)",
    )
    _add_import_options(incidents)
    incidents.set_defaults(run=_import_incidents)

    export = commands.add_parser(
        "export-responses",
        help="export stored responses as CSV or XLSX",
        description="Write the stored responses, one row per respondent, to CSV or XLSX (by the "
        "file's extension). Multi-select answers are one true/false column per choice.",
    )
    export.add_argument("path", type=Path, help="output file, .csv or .xlsx, in an existing folder")
    export.add_argument("--wave", action="append", help="only this wave (repeatable)")
    export.set_defaults(run=_export_responses)

    export_incidents = commands.add_parser(
        "export-incidents",
        help="export stored incidents as Parquet or CSV",
        description="Write the stored incidents in the canonical schema to Parquet (typed columns, "
        "times in microseconds; read it back with import-incidents or analyse it with "
        "surveykit.incident_counts(path)) or CSV, by the file's extension. Text that a spreadsheet "
        "would run as a formula is written with a leading apostrophe in CSV.",
    )
    export_incidents.add_argument(
        "path", type=Path, help="output file, .parquet or .csv, in an existing folder"
    )
    export_incidents.set_defaults(run=_export_incidents)

    analyst = commands.add_parser(
        "add-analyst",
        help="create or update an analyst login for the app's analysis pages",
        description="Create or update an analyst login. The password is read from "
        "SURVEYKIT_ANALYST_PASSWORD or asked for at the prompt; it is stored as a salted hash.",
    )
    analyst.add_argument("username")
    analyst.set_defaults(run=_add_analyst)

    check = commands.add_parser(
        "check-instrument",
        help="validate an instrument file and list every problem",
        description="Validate an instrument (YAML, JSON or XLSForm .xlsx) without storing it.",
    )
    check.add_argument("path", type=Path)
    check.set_defaults(run=_check_instrument)

    report = commands.add_parser(
        "report",
        help="write the advisory report (HTML, PDF, charts, workbook)",
        description="Write report.html (self-contained), report.pdf, the charts (PNG and SVG) and "
        "results.xlsx for one survey wave to a folder. Differences are stated only when their "
        "interval supports them; small cells are suppressed or marked.",
    )
    report.add_argument("--out", type=Path, required=True, help="folder for the report (created if missing)")
    report.add_argument("--wave", help="wave to report (default: the latest)")
    report.add_argument("--compare-wave", help="earlier wave to compare with")
    report.add_argument(
        "--weighted",
        action="store_true",
        help="rake each wave to population margins (the store's, as set on the Admin page, unless "
        "--margins is given), as the app does; standard errors credit the raking",
    )
    report.add_argument(
        "--margins",
        help="population margins for --weighted instead of the store's: a YAML or JSON file "
        "{variable: {level: count}}, or 'demo' for the demo data's margins",
    )
    report.add_argument(
        "--incidents",
        type=Path,
        help="incident log file (default: the stored incidents); a canonical CSV or Parquet file, or a "
        "folder of them, too large to read whole is counted in DuckDB instead",
    )
    report.set_defaults(run=_report)

    wave = commands.add_parser(
        "wave",
        help="open, close and list survey waves; make invitation links",
        description="Manage survey waves. The survey form takes answers only while a wave is open; "
        "a wave open to anyone takes them from everyone, otherwise each response needs an invitation "
        "link (?invite=TOKEN). Times are ISO dates or date-times, in UTC unless they carry an offset.",
    )
    wave_commands = wave.add_subparsers(dest="wave_command", metavar="ACTION", required=True)
    wave_open = wave_commands.add_parser(
        "open", help="open (or reschedule) a wave", description="Open a wave now, or schedule it."
    )
    wave_open.add_argument("name", help="the wave, e.g. 2017-06")
    wave_open.add_argument("--opens", type=_moment, help="when it opens (default: now)")
    wave_open.add_argument("--closes", type=_moment, help="when it closes (default: when closed)")
    wave_open.add_argument(
        "--invitation-only", action="store_true", help="accept only responses through invitation links"
    )
    wave_open.set_defaults(run=_wave_open)
    wave_close = wave_commands.add_parser(
        "close", help="close a wave", description="Close a wave now, or at a given time."
    )
    wave_close.add_argument("name")
    wave_close.add_argument("--at", type=_moment, help="when it closes (default: now)")
    wave_close.set_defaults(run=_wave_close)
    wave_list = wave_commands.add_parser(
        "list", help="list the waves", description="List every wave with its status, dates and counts."
    )
    wave_list.set_defaults(run=_wave_list)
    wave_invite = wave_commands.add_parser(
        "invite",
        help="make invitation tokens for a wave",
        description="Make single-use invitation tokens for a wave and print them one a line; only "
        "their hashes are stored, so keep the output. Send each respondent the survey's address "
        "followed by ?invite=TOKEN.",
    )
    wave_invite.add_argument("name")
    wave_invite.add_argument("count", type=int, help="how many tokens")
    wave_invite.set_defaults(run=_wave_invite)

    serve = commands.add_parser(
        "serve",
        help="start the Streamlit app",
        description="Start the survey and analysis app on the given store. An unexpected error shows "
        "a short notice without details, and Streamlit's /_stcore/metrics is not served. With --demo "
        "the demo data and the well-known demo login analyst / demo are loaded; the app warns while "
        "that login works.",
    )
    serve.add_argument("--port", type=int, default=8501, help="port to listen on (default: 8501)")
    serve.add_argument("--address", default="localhost", help="address to bind (default: localhost)")
    serve.add_argument("--demo", action="store_true", help="load the demo data first if the store is empty")
    serve.set_defaults(run=_serve)
    return parser


def _add_import_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sheet", help="worksheet of an XLSX file (default: the first)")
    parser.add_argument("--skip-invalid", action="store_true", help="import the valid rows, skip bad ones")
    parser.add_argument(
        "--rejects", type=Path, help="write skipped rows and their reasons to this CSV, in an existing folder"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except SurveykitError as exc:
        _fail(str(exc))
    except FileNotFoundError as exc:
        _fail(f"file not found: {exc.filename}")
    except (PermissionError, IsADirectoryError) as exc:
        _fail(f"cannot use {exc.filename}: {exc.strerror}")
    except OSError as exc:  # the machine, not the input or a bug: a full disk, a read-only mount
        _fail(f"cannot use {exc.filename}: {exc.strerror}" if exc.filename else str(exc))
    except KeyboardInterrupt:
        _fail("interrupted")
    except Exception as exc:  # a bug, not bad input: still one line, with a way to see more
        if os.environ.get("SURVEYKIT_DEBUG"):
            raise
        _fail(f"internal error ({type(exc).__name__}: {exc}); rerun with SURVEYKIT_DEBUG=1 and report it")
    return 2


def _fail(message: str) -> None:
    print(f"surveykit: error: {message}", file=sys.stderr)


def _store(args: argparse.Namespace) -> Store:
    from surveykit.collection.store import Store

    return Store(args.db)


def _demo(args: argparse.Namespace) -> int:
    from surveykit.datasets import load_demo

    with _store(args) as store:
        report = load_demo(store, seed=args.seed)
        print(
            f"Loaded demo data into {store!r}: {report.responses_added} responses, "
            f"{report.incidents_added} incidents added"
            + ("; analyst login 'analyst' / 'demo' created" if report.analyst_created else "")
            + (f"; wave {report.wave_opened} opened to anyone" if report.wave_opened else "")
            + ("; demo population margins stored for weighting." if report.margins_set else ".")
        )
    return 0


def _moment(text: str) -> datetime:
    """An ISO date or date-time for argparse; naive ones are UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date or date-time; write e.g. 2017-06-01 or 2017-06-01T09:00"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _wave_open(args: argparse.Namespace) -> int:
    with _store(args) as store:
        anyone = not args.invitation_only
        store.open_wave(args.name, opens=args.opens, closes=args.closes, open_to_anyone=anyone)
        status = store.wave_status(args.name)
    print(f"Wave {args.name!r} is {status}" + (", by invitation only." if args.invitation_only else "."))
    return 0


def _wave_close(args: argparse.Namespace) -> int:
    with _store(args) as store:
        store.close_wave(args.name, at=args.at)
        status = store.wave_status(args.name)
    print(f"Wave {args.name!r} is {status}.")
    return 0


def _wave_list(args: argparse.Namespace) -> int:
    with _store(args) as store:
        waves = store.list_waves()
    if waves.empty:
        print("No waves yet; open one with 'surveykit wave open NAME'.")
        return 0
    shown = waves.astype(object).where(waves.notna(), "")
    for column in ("opens_at", "closes_at"):
        shown[column] = [f"{t:%Y-%m-%d %H:%M}" if t != "" else "" for t in shown[column]]
    print(shown.to_string(index=False))
    return 0


def _wave_invite(args: argparse.Namespace) -> int:
    with _store(args) as store:
        tokens = store.create_invitations(args.name, args.count)
    print("\n".join(tokens))
    return 0


def _import_responses(args: argparse.Namespace) -> int:
    from surveykit.collection.loading import load_instrument
    from surveykit.collection.responses import import_responses

    with _store(args) as store:
        instrument = load_instrument(args.instrument) if args.instrument else None
        report = import_responses(
            store,
            args.path,
            instrument=instrument,
            wave=args.wave,
            sheet=args.sheet,
            skip_invalid=args.skip_invalid,
            rejects_path=args.rejects,
        )
        print(report.summary())
    return 0


def _import_incidents(args: argparse.Namespace) -> int:
    from surveykit.incidents.importing import import_incidents

    mapping = {}
    for item in args.map:
        header, sep, field = item.partition("=")
        if not sep or not header.strip() or not field.strip():
            raise SurveykitError(f"--map expects HEADER=FIELD, got {item!r}")
        mapping[header.strip()] = field.strip()
    with _store(args) as store:
        report = import_incidents(
            store,
            args.path,
            format=args.format,
            mapping=mapping or None,
            sheet=args.sheet,
            skip_invalid=args.skip_invalid,
            rejects_path=args.rejects,
            progress=sys.stderr.isatty(),
        )
        print(report.summary())
    return 0


def _export_responses(args: argparse.Namespace) -> int:
    from surveykit.collection.responses import export_responses

    with _store(args) as store:
        rows = export_responses(store, args.path, wave=args.wave)
    print(f"Wrote {rows} responses to {args.path}")
    return 0


def _export_incidents(args: argparse.Namespace) -> int:
    from surveykit._spreadsheet import writable, write_csv
    from surveykit.incidents.parquet import write_incidents_parquet

    path = writable(args.path, "the incidents")
    suffix = path.suffix.lower()
    if suffix not in {".parquet", ".pq", ".csv"}:
        raise SurveykitError(f"export-incidents writes .parquet or .csv files; got {path.name!r}")
    with _store(args) as store:
        incidents = store.incidents()
    if suffix == ".csv":
        write_csv(incidents, path, "the incidents")
    else:
        write_incidents_parquet(incidents, path)
    print(f"Wrote {len(incidents)} incidents to {path}")
    return 0


def _report(args: argparse.Namespace) -> int:
    import time

    from surveykit.publishing.report import build_report

    if args.margins and not args.weighted:
        raise SurveykitError("--margins is used only with --weighted")
    started = time.perf_counter()
    with _store(args) as store:
        margins = None
        if args.weighted:
            margins = _margins(args.margins) if args.margins else _stored_margins(store)
        responses = store.responses()
        incidents = _incident_log(args.incidents) if args.incidents else store.incidents()
        instrument = store.instrument() if len(responses) else None
    files = build_report(
        responses,
        args.out,
        incidents=incidents,
        wave=args.wave,
        compare_wave=args.compare_wave,
        margins=margins,
        instrument=instrument,
    )
    print(
        f"Wrote {files.html}, {files.pdf}, {files.workbook} and {len(files.charts)} chart files "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return 0


def _incident_log(path: Path) -> pd.DataFrame:
    """The log for the report: read and checked whole, or, when it is too large for that (beyond the
    input limits, or a folder of CSV or Parquet files), condensed in DuckDB to its incidents by
    type and date with the email outages kept whole, which the report's statistics read alike."""
    from surveykit._limits import current_limits
    from surveykit.incidents.reading import read_incidents
    from surveykit.incidents.sources import condensed_log

    limits = current_limits()
    large = path.is_dir() and not any(path.glob("*.json")) and not any(path.glob("*.JSON"))
    if path.is_file() and path.suffix.lower() in {".csv", ".txt", ".parquet", ".pq"}:
        large = path.stat().st_size > limits.max_file_bytes
        if path.suffix.lower() in {".parquet", ".pq"} and not large:
            import pyarrow.parquet as pq

            try:
                large = pq.ParquetFile(path).metadata.num_rows >= limits.max_rows
            except (OSError, ValueError):  # not Parquet: read_incidents says so in one line
                large = False
    if not large:
        return read_incidents(path)
    return condensed_log(path, "incident_type", whole=("incident_type", "email_outage"), engine="duckdb")


def _stored_margins(store: Store) -> dict:
    """The store's population margins, for --weighted without --margins."""
    margins = store.margins()
    if not margins:
        raise SurveykitError(
            "--weighted needs population margins and the store has none: set them on the app's "
            "Admin page, or pass --margins FILE (YAML or JSON {variable: {level: count}}), or "
            "--margins demo for the demo data"
        )
    return margins


def _margins(source: str) -> dict:
    """Population margins from a YAML or JSON file, or the demo's."""
    if source == "demo":
        from surveykit.datasets import demo_margins

        return demo_margins()
    import yaml

    path = Path(source)
    if not path.is_file():
        raise SurveykitError(f"margins file {source!r} does not exist")
    try:
        margins = yaml.safe_load(path.read_text(encoding="utf-8"))  # JSON is YAML too
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SurveykitError(
            f"margins file {path.name} could not be parsed: {str(exc).splitlines()[0]}"
        ) from None
    if not isinstance(margins, dict) or not all(isinstance(v, dict) for v in margins.values()):
        raise SurveykitError(
            f"margins file {path.name} must map each variable to {{level: count}}, "
            "e.g. country: {US: 120000}"
        )
    return margins


def _add_analyst(args: argparse.Namespace) -> int:
    password = os.environ.get("SURVEYKIT_ANALYST_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            raise SurveykitError("set SURVEYKIT_ANALYST_PASSWORD or run add-analyst at a terminal")
        password = getpass.getpass(f"Password for {args.username}: ")
    with _store(args) as store:
        store.add_analyst(args.username, password)
    print(f"Analyst {args.username!r} can now log in.")
    return 0


def _check_instrument(args: argparse.Namespace) -> int:
    from surveykit.collection.loading import load_instrument

    instrument = load_instrument(args.path)
    print(
        f"{args.path}: instrument {instrument.id!r} version {instrument.version} is valid "
        f"({len(instrument.questions)} questions)."
    )
    return 0


def _serve(args: argparse.Namespace) -> int:
    # app_server.py runs app.py with /_stcore/metrics answered by 404 (Streamlit has no option for it).
    app = Path(__file__).resolve().parent.parent / "app_server.py"
    if not app.is_file():
        raise SurveykitError(
            f"the app file {app} is missing; 'serve' runs from a source checkout (pip install -e .)"
        )
    with _store(args) as store:
        url = store.url
        if args.demo and store.count_responses() == 0:
            from surveykit.datasets import load_demo

            report = load_demo(store)
            added = f"{report.responses_added} responses, {report.incidents_added} incidents"
            print(f"Loaded the demo data: {added}.")
    env = dict(os.environ, SURVEYKIT_DB_URL=url)
    command = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.port", str(args.port),
        "--server.address", args.address,
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
        # An unexpected error shows a short notice, never a traceback with paths, SQL or answers.
        "--client.showErrorDetails", "none",
        "--server.enableAgentApi", "false",  # the default; said here so that it stays off
    ]  # fmt: skip
    print(f"Starting surveykit on http://{args.address}:{args.port} with {store!r}", flush=True)
    if os.name == "posix":
        # Become the server, so that stopping this process (SIGTERM from a service manager, a
        # test, kill) stops the server too rather than leaving it running on the port.
        os.execve(sys.executable, command, env)
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
