"""The dashboard over 100,000 stored responses: first render and cached rerun, through AppTest.

Fills a SQLite store with N demo responses (the demo generator scaled up, written with
``Store.add_responses`` in chunks, with the demo margins stored), then times:

* ``Store.responses()`` alone (the floor of any page that reads the store);
* the dashboard's first render in a fresh AppTest (nothing cached), unweighted;
* a rerun with the same filters (everything cached);
* switching to weighted (a new computation on the cached responses), and its rerun;
* in headless Chromium against ``surveykit serve``: signing in until the dashboard shows its
  figures (a cold server: the store read included), then a reload (the server's cache warm).

Budget on the 2-core machine: first render under 3 s, cached rerun under 0.5 s.

    python bench/bench_dashboard.py [N] [--db PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from surveykit import Store, default_instrument, demo_margins, demo_responses  # noqa: E402
from surveykit.datasets import DEMO_WAVES  # noqa: E402

CHUNK = 10_000


def fill(url: str, n: int) -> None:
    """Store ``n`` demo responses (two waves in the demo's proportions) and the demo margins."""
    instrument = default_instrument()
    with Store(url) as store:
        if store.count_responses() >= n:
            return
        store.set_margins(demo_margins())
        share = DEMO_WAVES["2015-12"] / sum(DEMO_WAVES.values())
        per_wave = {"2015-12": round(n * share), "2016-12": n - round(n * share)}
        written = 0
        for wave, count in per_wave.items():
            frame = demo_responses(count, waves=[wave], seed=7)
            for start in range(0, count, CHUNK):
                part = frame.iloc[start : start + CHUNK]
                rows = [
                    {
                        "answers": instrument.clean_answers(a),
                        "wave": wave,
                        "idempotency_key": f"b{written + i}",
                    }
                    for i, a in enumerate(instrument.records(part))
                ]
                store.add_responses(instrument, rows)
                written += len(rows)
        if not store.has_analysts():
            store.add_analyst("analyst", "demo")


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=100_000)
    parser.add_argument("--db", default="/tmp/surveykit-bench-dashboard.db")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    url = f"sqlite:///{args.db}"
    print(f"filling {args.db} with {args.n:,} responses ...", flush=True)
    print(f"  fill: {timed(lambda: fill(url, args.n)):.1f} s")
    with Store(url) as store:
        print(f"stored responses: {store.count_responses():,}")
        read = timed(store.responses)
    print(f"Store.responses():            {read:6.2f} s")

    os.environ["SURVEYKIT_DB_URL"] = url
    from tests._apptest import start

    at = None

    def first() -> None:
        nonlocal at
        at = start("app_pages/dashboard.py", user="analyst")

    first_render = timed(first)
    assert at is not None and not at.exception, at.exception
    rerun = timed(at.run)
    at.toggle(key="filters_weighted").set_value(True)
    weighted = timed(at.run)
    weighted_rerun = timed(at.run)
    assert not at.exception
    shown = next(m.value for m in at.metric if m.label == "Respondents")
    print(f"dashboard first render:       {first_render:6.2f} s  (budget 3 s; app start included)")
    print(f"dashboard cached rerun:       {rerun:6.2f} s  (budget 0.5 s)")
    print(f"switch to weighted:           {weighted:6.2f} s")
    print(f"weighted cached rerun:        {weighted_rerun:6.2f} s")
    print(f"first render / read:          {first_render / read:6.2f}x")
    print(f"respondents shown: {shown}")
    browser_load(args.db)


def browser_load(database: str) -> None:
    """Page loads in headless Chromium: sign-in to figures on a cold server, then a reload."""
    import tempfile

    from playwright.sync_api import sync_playwright

    from tests._browser import CHROMIUM, CHROMIUM_ARGS, served

    if CHROMIUM is None:
        print("browser: Chromium is not installed; skipped")
        return
    store = f"sqlite:///{database}"
    with tempfile.TemporaryDirectory() as folder, served(Path(folder), "--db", store, "serve") as url:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto(f"{url}/login")
            page.get_by_label("Username").fill("analyst")
            page.locator("input[type=password]").fill("demo")
            figures = page.get_by_test_id("stMetric").filter(has_text="Respondents")
            started = time.perf_counter()
            page.get_by_role("button", name="Log in").click()
            figures.wait_for(timeout=120_000)
            cold = time.perf_counter() - started
            started = time.perf_counter()
            page.reload()
            figures.wait_for(timeout=120_000)
            warm = time.perf_counter() - started
            browser.close()
    print(f"browser: sign-in to figures:  {cold:6.2f} s  (cold server: store read included)")
    print(f"browser: reload to figures:   {warm:6.2f} s  (cached)")


if __name__ == "__main__":
    main()
