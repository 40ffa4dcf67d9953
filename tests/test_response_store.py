"""The typed answer tables: the tidy frame read from them is the one the JSON records give, a
version-2 store made by the previous surveykit is upgraded with every row, and odd names and
reused ids are safe."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from surveykit import Instrument, Store, StoreError, default_instrument
from surveykit.collection.store import SCHEMA_VERSION, resolve_db_url

from ._processes import run_at_once
from ._response_data import PULSE_ID, fill_store, pulse
from .test_instrument import VALID_ANSWERS

DATA = Path(__file__).parent / "data"
META = ["respondent_id", "wave", "submitted_at", "instrument_id", "instrument_version"]
INSTRUMENTS = {"whaling-posture": "store_v2_whaling.parquet", PULSE_ID: "store_v2_pulse.parquet"}


def tidy_from_json(url: str, instrument_id: str, waves: list[str] | None = None) -> pd.DataFrame:
    """The frame as surveykit made it before typed tables: every stored JSON record of the
    instrument, in storage order, tidied by its latest version."""
    engine = sa.create_engine(resolve_db_url(url))
    with engine.connect() as conn:
        definitions = conn.execute(
            sa.text("SELECT version, definition FROM instruments WHERE instrument_id = :id"),
            {"id": instrument_id},
        ).all()
        rows = conn.execute(
            sa.text(
                "SELECT respondent_id, wave, submitted_at, instrument_id, instrument_version, answers "
                "FROM responses WHERE instrument_id = :id ORDER BY id"
            ),
            {"id": instrument_id},
        ).all()
    engine.dispose()
    latest = Instrument.from_dict(json.loads(max(definitions)[1]))
    rows = [r for r in rows if waves is None or r.wave in waves]
    meta = pd.DataFrame([tuple(r)[:5] for r in rows], columns=META).astype(
        {"respondent_id": "string", "wave": "string", "instrument_id": "string"}
    )
    meta["submitted_at"] = pd.to_datetime(meta["submitted_at"]).astype("datetime64[ns]")
    meta["instrument_version"] = meta["instrument_version"].astype("Int64")
    return pd.concat([meta, latest.tidy([json.loads(r.answers) for r in rows])], axis=1)


def typed_row_counts(url: str) -> dict[tuple[str, int], int]:
    """Rows in each registered typed answer table, counted with plain SQL."""
    engine = sa.create_engine(resolve_db_url(url))
    with engine.connect() as conn:
        tables = conn.execute(sa.text("SELECT instrument_id, version, table_name FROM answer_tables")).all()
        counts = {
            (i, v): conn.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
            for i, v, name in tables
        }
    engine.dispose()
    return counts


def stored_counts(url: str) -> dict[tuple[str, int], int]:
    engine = sa.create_engine(resolve_db_url(url))
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT instrument_id, instrument_version, count(*) FROM responses "
                "GROUP BY instrument_id, instrument_version"
            )
        ).all()
    engine.dispose()
    return {(i, v): n for i, v, n in rows}


def downgrade_to_version_2(url: str) -> None:
    """Make the store as surveykit with schema version 2 left it: no typed answer tables."""
    engine = sa.create_engine(resolve_db_url(url))
    with engine.begin() as conn:
        names = conn.execute(sa.text("SELECT table_name FROM answer_tables")).scalars().all()
        for name in [*names, "answer_tables"]:
            sa.Table(name, sa.MetaData()).drop(conn)  # quoted by SQLAlchemy
        conn.execute(sa.text("UPDATE meta SET value = '2' WHERE key = 'schema_version'"))
    engine.dispose()


def test_the_tidy_frame_is_the_one_the_json_records_give(store):
    fill_store(store)
    for waves in [None, ["2016-12"], ["2015-12", "2017-06", "p1", "p2"], []]:
        wave = waves[0] if waves and len(waves) == 1 else waves  # a wave by name, or a list
        for instrument_id in INSTRUMENTS:
            got = store.responses(wave=wave, instrument_id=instrument_id)
            pd.testing.assert_frame_equal(got, tidy_from_json(store.url, instrument_id, waves))
    versions = store.responses(wave="2015-12", instrument_id="whaling-posture")["instrument_version"]
    assert versions.value_counts().to_dict() == {2: 61, 1: 3}  # demo, older version, one new


def test_a_version_2_store_made_by_the_previous_surveykit_is_upgraded_intact(tmp_path):
    path = tmp_path / "store.db"
    shutil.copy(DATA / "store_v2.db", path)
    url = f"sqlite:///{path}"
    before = stored_counts(url)
    with Store(url) as upgraded:
        assert upgraded.schema_version == SCHEMA_VERSION == 4
        for instrument_id, expected in INSTRUMENTS.items():
            # The frames surveykit 0.1 (schema version 2) read from this very file.
            frame = upgraded.responses(instrument_id=instrument_id)
            pd.testing.assert_frame_equal(frame, pd.read_parquet(DATA / expected))
        assert upgraded.count_responses() == sum(before.values()) == 132
    assert stored_counts(url) == before
    assert typed_row_counts(url) == before  # every stored response has its typed row


def test_an_upgrade_keeps_every_row_on_both_databases(store_url):
    with Store(store_url) as old:
        fill_store(old)
        old.delete_responses(wave="p2")  # gaps in the ids
        count = old.count_responses()
    expected = {i: tidy_from_json(store_url, i) for i in INSTRUMENTS}
    before = stored_counts(store_url)
    downgrade_to_version_2(store_url)
    with Store(store_url) as upgraded:
        assert upgraded.schema_version == SCHEMA_VERSION
        for instrument_id, frame in expected.items():
            pd.testing.assert_frame_equal(upgraded.responses(instrument_id=instrument_id), frame)
        assert upgraded.count_responses() == count
        assert upgraded.submit(default_instrument(), VALID_ANSWERS, wave="2018-01").created
    before[("whaling-posture", 2)] += 1
    typed = typed_row_counts(store_url)  # pulse version 2 keeps an empty table: its wave was deleted
    assert {key: n for key, n in typed.items() if n} == before == stored_counts(store_url)


def test_responses_without_a_typed_row_are_read_from_their_json(store):
    """A response written after the upgrade by a process still running the older surveykit."""
    fill_store(store)
    expected = tidy_from_json(store.url, "whaling-posture")
    engine = sa.create_engine(resolve_db_url(store.url))
    with engine.begin() as conn:
        name = conn.execute(
            sa.text(
                "SELECT table_name FROM answer_tables WHERE instrument_id = 'whaling-posture' AND version = 2"
            )
        ).scalar_one()
        table = sa.Table(name, sa.MetaData(), sa.Column("response_id", sa.Integer))
        conn.execute(table.delete().where(table.c.response_id % 3 == 0))
    engine.dispose()
    pd.testing.assert_frame_equal(store.responses(instrument_id="whaling-posture"), expected)


def test_typed_columns_hold_plain_values_for_sql_readers(store):
    instrument = default_instrument()
    store.submit(instrument, {**VALID_ANSWERS, "longest_outage_hours": 2.25}, wave="2016-12")
    engine = sa.create_engine(resolve_db_url(store.url))
    with engine.connect() as conn:
        name = conn.execute(sa.text("SELECT table_name FROM answer_tables")).scalar_one()
        row = conn.execute(sa.select(sa.text("*")).select_from(sa.table(name))).mappings().one()
    engine.dispose()
    assert row["country"] == "US"
    assert (row["impersonated_roles__ceo"], row["impersonated_roles__hr"]) == (1, 0)  # ticked, not ticked
    assert row["ciso_in_csuite"] is None  # skipped: ciso_present is "no"
    assert (row["outages_12m"], row["longest_outage_hours"]) == (2, 2.25)


def test_long_and_odd_instrument_ids_get_short_distinct_table_names(store):
    fill_store(store)
    engine = sa.create_engine(resolve_db_url(store.url))
    with engine.connect() as conn:
        names = dict(
            conn.execute(
                sa.text("SELECT version, table_name FROM answer_tables WHERE instrument_id = :i"),
                {"i": PULSE_ID},
            ).all()
        )
        inspector = sa.inspect(conn)
        columns = [c["name"] for c in inspector.get_columns(names[2])]
    engine.dispose()
    assert sorted(names) == [1, 2] and names[1] != names[2]
    assert all(len(n) <= 63 and n.isascii() and n.replace("_", "").isalnum() for n in names.values())
    assert len(columns) == 1 + len(pulse(2).columns) and all(len(c) <= 63 for c in columns)
    assert {"tools__Filter-2", "tools__filter"} <= set(columns)  # case kept where distinct


def test_a_reused_response_id_gets_the_new_answers(store):
    """SQLite hands the largest id out again after its response is deleted."""
    instrument = default_instrument()
    store.submit(instrument, VALID_ANSWERS, wave="2016-12")
    gone = store.submit(instrument, {**VALID_ANSWERS, "country": "GB"}, wave="2016-12")
    assert store.delete_responses(respondent_ids=[gone.respondent_id]) == 1
    store.submit(instrument, {**VALID_ANSWERS, "country": "ZA", "outages_12m": 0}, wave="2016-12")
    frame = store.responses()
    assert frame["country"].tolist() == ["US", "ZA"]
    pd.testing.assert_frame_equal(frame, tidy_from_json(store.url, "whaling-posture"))


def test_a_refused_batch_stores_no_typed_rows(store):
    instrument = default_instrument()
    store.submit(instrument, VALID_ANSWERS, wave="2016-12", idempotency_key="taken")
    clean = instrument.clean_answers(VALID_ANSWERS)
    clash = instrument.clean_answers({**VALID_ANSWERS, "country": "GB"})
    with pytest.raises(StoreError, match="already used"):
        store.add_responses(
            instrument,
            [
                {"answers": clean, "wave": "2017-06"},
                {"answers": clash, "wave": "2017-06", "idempotency_key": "taken"},
            ],
        )
    assert typed_row_counts(store.url) == {("whaling-posture", 2): 1} == stored_counts(store.url)


def test_deleting_responses_deletes_their_typed_answers(store):
    """SQLite does not enforce the typed tables' foreign key, so the store deletes their rows itself."""
    instrument = default_instrument()
    kept = store.submit(instrument, VALID_ANSWERS, wave="2016-12")
    gone = store.submit(instrument, {**VALID_ANSWERS, "country": "GB"}, wave="2016-12")
    for wave in ("2017-06", "2017-06", "2017-12"):
        store.submit(instrument, VALID_ANSWERS, wave=wave)
    assert store.delete_responses(respondent_ids=[gone.respondent_id]) == 1
    assert store.delete_responses(wave="2017-06") == 2
    assert typed_row_counts(store.url) == {("whaling-posture", 2): 2} == stored_counts(store.url)
    frame = store.responses()
    assert frame["respondent_id"].tolist()[0] == kept.respondent_id and len(frame) == 2
    pd.testing.assert_frame_equal(frame, tidy_from_json(store.url, "whaling-posture"))


def _submit_new_key(url: str) -> str:
    with Store(url) as own:
        return (
            "created" if own.submit(default_instrument(), VALID_ANSWERS, wave="2016-12").created else "kept"
        )


def test_racing_first_submissions_to_a_new_version_make_one_table_and_keep_every_answer(store_url):
    """Each of the racing submissions finds no typed table for the version and needs one."""
    with Store(store_url):
        pass
    assert sorted(run_at_once(store_url, _submit_new_key, processes=6)) == ["created"] * 6
    assert typed_row_counts(store_url) == {("whaling-posture", 2): 6} == stored_counts(store_url)


def _typed_by_tidy(instrument: Instrument, records: list[dict]) -> list[tuple]:
    """The typed values as Instrument.tidy makes them: text, whole numbers, floats, 0/1 choices."""
    frame = instrument.tidy(records)
    columns = []
    for column in instrument.columns:
        values = frame[column].astype(object).where(frame[column].notna(), None)
        kind = str(frame[column].dtype)
        columns.append([None if v is None else int(v) if kind == "boolean" else v for v in values])
    return [tuple(row) for row in zip(*columns, strict=True)]


def test_typed_answers_of_a_submission_equal_those_of_the_tidy_frame():
    from surveykit import demo_responses
    from surveykit.collection.answer_table import answer_rows

    instrument = default_instrument()
    records = instrument.records(demo_responses(200, seed=11))  # skipped questions, none ticked...
    records += [{}, {"impersonated_roles": []}, {"outages_12m": 0, "longest_outage_hours": 2}]
    assert answer_rows(instrument, records) == _typed_by_tidy(instrument, records)
    # Values clean_answers would not leave: the same result through the tidy frame, or None.
    odd = [{"outages_12m": 3.0}, {"longest_outage_hours": float("nan")}, {"country": 7}]
    for record in odd:
        try:
            expected = _typed_by_tidy(instrument, [record])
        except (TypeError, ValueError):
            expected = None
        assert answer_rows(instrument, [record]) == expected
