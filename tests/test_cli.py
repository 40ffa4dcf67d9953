"""The command line: help on every subcommand, one-line errors, and nothing changed on failure."""

from __future__ import annotations

import csv
import re
import subprocess
import sys

import openpyxl
import pytest

from surveykit import Store
from surveykit.cli import main

from .test_responses import GOOD, HEADER

COMMANDS = [
    "demo", "import-responses", "import-incidents", "export-responses", "export-incidents",
    "add-analyst", "check-instrument", "report", "serve", "wave",
]  # fmt: skip


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "surveykit.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_explains_itself(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: surveykit {command}")
    assert "--db" not in out or command == "serve"  # the global option lives on the main parser
    assert len(out.splitlines()) > 3


def test_demo_loads_once(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["--db", db, "demo"]) == 0
    # 450 + 520 respondents in the two waves; 1,000 + 1,380 + 1,560 incidents in 2014-2016.
    first = capsys.readouterr().out
    assert "970 responses, 3940 incidents added" in first
    assert "wave 2017-12 opened to anyone" in first
    assert main(["--db", db, "demo"]) == 0
    assert "0 responses, 0 incidents added." in capsys.readouterr().out
    with Store(db) as store:
        assert store.count_responses() == 970
        assert store.check_login("analyst", "demo")
        assert store.current_wave() == "2017-12"


def test_wave_open_invite_list_and_close(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'waves.db'}"
    opens, closes = "2030-01-02T09:00", "2030-02-01"
    assert main(["--db", db, "wave", "open", "2030-01", "--opens", opens, "--closes", closes,
                 "--invitation-only"]) == 0  # fmt: skip
    assert "Wave '2030-01' is scheduled, by invitation only." in capsys.readouterr().out
    assert main(["--db", db, "wave", "invite", "2030-01", "3"]) == 0
    tokens = capsys.readouterr().out.split()
    assert main(["--db", db, "wave", "open", "2017-06"]) == 0
    assert main(["--db", db, "wave", "close", "2017-06"]) == 0
    assert "Wave '2017-06' is closed." in capsys.readouterr().out
    assert main(["--db", db, "wave", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[1].split()[:2] == ["2017-06", "closed"]
    assert listed[2].split() == ["2030-01", "scheduled", "2030-01-02", "09:00", "2030-02-01", "00:00",
                                 "False", "0", "3", "0"]  # fmt: skip
    with Store(db) as store:
        assert [store.invitation_status(t) for t in tokens] == ["valid"] * 3
        assert store.invitation_wave(tokens[0]) == "2030-01"


def test_wave_errors_are_one_line(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'waves.db'}"
    assert main(["--db", db, "wave", "close", "never-opened"]) == 2
    assert capsys.readouterr().err.startswith("surveykit: error: Wave 'never-opened' was never opened")
    with pytest.raises(SystemExit):
        main(["--db", db, "wave", "open", "2017-06", "--opens", "tomorrow"])
    assert "'tomorrow' is not a date or date-time" in capsys.readouterr().err


def test_import_and_export_responses(tmp_path, capsys):
    db = str(tmp_path / "cli.db")
    source = tmp_path / "in.csv"
    source.write_text(HEADER + "\n".join(GOOD) + "\n")
    assert main(["--db", db, "import-responses", str(source)]) == 0
    assert "3 responses added, 0 already stored" in capsys.readouterr().out
    assert main(["--db", db, "export-responses", str(tmp_path / "out.csv"), "--wave", "2016-12"]) == 0
    assert "Wrote 2 responses" in capsys.readouterr().out


def test_errors_are_one_line_without_traceback_and_change_nothing(tmp_path):
    db = str(tmp_path / "cli.db")
    source = tmp_path / "in.csv"
    rows = [",".join(cell for i, cell in enumerate(row.split(",")) if i != 3) for row in GOOD]
    source.write_text(HEADER.replace(",sector", "") + "\n".join(rows) + "\n")
    result = run("--db", db, "import-responses", str(source))
    assert result.returncode == 2
    assert result.stderr.startswith("surveykit: error: in.csv: the columns do not match the instrument")
    assert "required question 'sector' has no column" in result.stderr
    assert "Traceback" not in result.stderr
    with Store(db) as store:
        assert store.count_responses() == 0


def test_row_longer_than_the_header_is_refused(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text(HEADER + GOOD[0] + ",extra\n")
    result = run("--db", str(tmp_path / "cli.db"), "import-responses", str(source))
    assert result.returncode == 2
    assert "in.csv: not a readable ','-separated file" in result.stderr


def test_unknown_db_scheme(tmp_path):
    result = run("--db", "mysql://u:secret@h/db", "demo")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "surveykit: error: Unknown database URL scheme 'mysql' in 'mysql://u:***@h/db'; "
        "use sqlite:///path/to/file.db or postgresql://user:password@host/dbname"
    ]


def test_malformed_instrument_is_reported(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("id: x\nversion: 1\ntitle: X\nquestions:\n  - {id: q, type: select_one, text: Q}\n")
    result = run("check-instrument", str(path))
    assert result.returncode == 2
    assert "question 'q': a select_one question needs a non-empty 'choices' list" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file(tmp_path):
    result = run("--db", str(tmp_path / "x.db"), "import-responses", str(tmp_path / "absent.csv"))
    assert result.returncode == 2
    assert "absent.csv" in result.stderr and "does not exist" in result.stderr


def test_export_into_a_missing_folder_is_a_one_line_error(tmp_path):
    db = str(tmp_path / "cli.db")
    source = tmp_path / "in.csv"
    source.write_text(HEADER + "\n".join(GOOD) + "\n")
    assert run("--db", db, "import-responses", str(source)).returncode == 0
    result = run("--db", db, "export-responses", str(tmp_path / "absent" / "out.csv"))
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("surveykit: error: Cannot write the export to ")
    assert f"the folder {str(tmp_path / 'absent')!r} does not exist; create it first" in line


def test_rejects_into_a_missing_folder_is_a_one_line_error_and_stores_nothing(tmp_path):
    db = str(tmp_path / "cli.db")
    source = tmp_path / "in.csv"
    source.write_text(HEADER + "\n".join([*GOOD, "2016-12,US,huge,finance,security,increased,no,,no,,no,0"]))
    rejects = tmp_path / "absent" / "rejects.csv"
    result = run("--db", db, "import-responses", str(source), "--skip-invalid", "--rejects", str(rejects))
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("surveykit: error: Cannot write the rejects to ")
    assert f"the folder {str(tmp_path / 'absent')!r} does not exist" in line
    with Store(db) as store:
        assert store.count_responses() == 0


def test_incident_rejects_into_a_missing_folder_is_a_one_line_error_and_stores_nothing(tmp_path):
    db = str(tmp_path / "inc.db")
    log = tmp_path / "log.csv"
    log.write_text("id,date,country,type\nT-1,2015-03-02,US,phishing\nT-2,2015-13-11,GB,whaling_bec\n")
    rejects = tmp_path / "absent" / "rejects.csv"
    result = run("--db", db, "import-incidents", str(log), "--skip-invalid", "--rejects", str(rejects))
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("surveykit: error: Cannot write the rejects to ") and "absent" in line
    with Store(db) as store:
        assert store.count_incidents() == 0


def test_other_os_errors_are_one_line_not_an_internal_error(tmp_path, monkeypatch, capsys):
    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device", "out.csv")

    monkeypatch.setattr("surveykit.collection.responses.export_responses", disk_full)
    assert main(["--db", str(tmp_path / "cli.db"), "export-responses", str(tmp_path / "out.csv")]) == 2
    assert capsys.readouterr().err == "surveykit: error: cannot use out.csv: No space left on device\n"


def test_add_analyst_reads_password_from_environment(tmp_path):
    import os

    db = str(tmp_path / "a.db")
    env = dict(os.environ, SURVEYKIT_ANALYST_PASSWORD="pa55word")
    assert run("--db", db, "add-analyst", "maria", env=env).returncode == 0
    with Store(db) as store:
        assert store.check_login("maria", "pa55word")


def test_import_incidents_from_csv_and_reimport_adds_nothing(tmp_path, capsys):
    db = str(tmp_path / "inc.db")
    log = tmp_path / "log.csv"
    log.write_text(
        "id,date,country,type\n"
        "T-1,2015-03-02,US,phishing\n"
        "T-2,2015-04-11,GB,whaling_bec\n"
        "T-3,2014-12-30,ZA,malware\n"
    )
    assert main(["--db", db, "import-incidents", str(log)]) == 0
    assert "log.csv: 3 incidents added, 0 already stored" in capsys.readouterr().out
    assert main(["--db", db, "import-incidents", str(log)]) == 0
    assert "0 incidents added, 3 already stored" in capsys.readouterr().out
    with Store(db) as store:
        assert sorted(store.incidents()["incident_id"]) == ["T-1", "T-2", "T-3"]


def test_incident_csv_without_a_date_column_changes_nothing(tmp_path):
    db = str(tmp_path / "inc.db")
    log = tmp_path / "nodate.csv"
    log.write_text("id,country,type\nT-1,US,phishing\n")
    result = run("--db", db, "import-incidents", str(log))
    assert result.returncode == 2
    assert result.stderr.startswith("surveykit: error: The log has no date column")
    assert "Traceback" not in result.stderr
    with Store(db) as store:
        assert store.count_incidents() == 0


def test_export_responses_writes_no_live_formula(tmp_path):
    db = str(tmp_path / "cli.db")
    source = tmp_path / "in.csv"
    payloads = ['=HYPERLINK("http://x","y")', "+1+cmd|' /C calc'!A0", "@SUM(1+1)"]
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER.strip().split(","))
        writer.writerows([payload, *GOOD[0].split(",")[1:]] for payload in payloads)
    assert run("--db", db, "import-responses", str(source)).returncode == 0
    assert run("--db", db, "export-responses", str(tmp_path / "out.csv")).returncode == 0
    assert run("--db", db, "export-responses", str(tmp_path / "out.xlsx")).returncode == 0
    with (tmp_path / "out.csv").open(newline="", encoding="utf-8") as handle:
        waves = sorted(row["wave"] for row in csv.DictReader(handle))
    assert waves == sorted("'" + p for p in payloads)
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    column = [cell.value for cell in sheet[1]].index("wave") + 1
    cells = [sheet.cell(row=r, column=column) for r in range(2, sheet.max_row + 1)]
    assert sorted(c.value for c in cells) == waves
    assert all(c.data_type == "s" for c in cells)


def test_serve_hides_the_metrics_and_creates_no_login(tmp_path):
    # A probe read /_stcore/metrics (sessions, caches, pages) without signing in.
    import urllib.error
    import urllib.request

    from tests._browser import served

    with served(tmp_path, "serve") as url:
        with urllib.request.urlopen(url, timeout=10) as answer:
            assert answer.status == 200
        for path in ["/_stcore/metrics", "/_stcore/metrics/", "/_stcore/metrics?families=session_events"]:
            with pytest.raises(urllib.error.HTTPError) as info:
                urllib.request.urlopen(url + path, timeout=10)
            assert info.value.code == 404
            assert b"session" not in info.value.read()
    # Stopping serve stops the server: nothing answers on the port any more.
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "/_stcore/health", timeout=5)
    # Only 'surveykit demo' and 'serve --demo' make the well-known demo login.
    with Store(f"sqlite:///{tmp_path / 'surveykit.db'}") as store:
        assert not store.has_analysts()


@pytest.mark.browser
def test_serve_shows_an_unexpected_error_without_its_details(tmp_path):
    # The probe saw tracebacks with SQL, answers and server paths; here the store breaks under
    # the running app, and the browser gets Streamlit's short notice and nothing of the error.
    from playwright.sync_api import sync_playwright

    from tests._browser import CHROMIUM, CHROMIUM_ARGS, served

    with served(tmp_path, "serve") as url:
        (tmp_path / "surveykit.db").write_bytes(b"not a database " * 1000)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.goto(url)
                notice = re.compile("The original error message is redacted|cannot be shown just now")
                page.get_by_text(notice).first.wait_for(timeout=60_000)
                text = page.locator("body").inner_text()
            finally:
                browser.close()
    for detail in ["Traceback", "sqlalchemy", "not a database", "File ", str(tmp_path), ".py"]:
        assert detail not in text
