"""Benchmark the daily report over the synthetic 1,000,000-event ledger (from the ledger, from the roll-up, beside a
plain Python replay) and the Excel ledger export at 10k/50k/100k sites (time and peak memory, to show it is flat),
beside the same rows written by openpyxl (write-only) and XlsxWriter (constant memory, if installed).

Uses a COPY of bench/.data/recovery_bench.sqlite3 (built by bench/daily_summary.py); the original is not touched.
    python bench/report_daily.py [--day 2021-07-29] [--sizes 10000,50000,100000] [--repeat 5] [--excel-only]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

BENCH = Path(__file__).resolve().parent
SOURCE = BENCH / ".data" / "recovery_bench.sqlite3"


def _copy() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="recovery-report-bench-"))
    target = folder / "bench.sqlite3"
    shutil.copyfile(SOURCE, target)
    from recovery.db.engine import make_engine
    from recovery.db.migrate import upgrade

    engine = make_engine(f"sqlite:///{target}")
    upgrade(engine)  # the copy gains the published_report table; the original stays as it is
    engine.dispose()
    return target


def _ms(fn, repeat: int) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), result


def figures(path: Path, day: date, repeat: int) -> dict:
    sys.path.insert(0, str(BENCH))
    from daily_summary import replay_baseline

    from recovery.db.engine import make_engine
    from recovery.metrics.compute import cube_at, evaluate_all
    from recovery.reports.build import build_report
    from recovery.timeutil import end_of_day, now

    engine = make_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        T = end_of_day(day)
        ledger_ms, a = _ms(lambda: evaluate_all(cube_at(session, T, now())), repeat)
        rollup_ms, b = _ms(lambda: evaluate_all(cube_at(session, T)), repeat)
        report_ms, _ = _ms(lambda: build_report(session, day), repeat)
        baseline_ms, c = _ms(lambda: replay_baseline(session, T), 1)
        same = all(a[k].printed == b[k].printed == c[k].printed for k in c if k in a)
    engine.dispose()
    return {
        "ledger_ms": ledger_ms,
        "rollup_ms": rollup_ms,
        "full_report_ms": report_ms,
        "baseline_replay_ms": baseline_ms,
        "same_figures": same,
    }


#: the app's export, then the baselines: the same rows through general-purpose libraries
WRITERS = ("ledger", "openpyxl", "xlsxwriter")


def excel_one(path: Path, day: date, n: int, writer: str) -> dict:
    """One export in this process; run in a child so each size's peak RSS is its own. Every writer gets the
    same sites from the same query and writes the same cells to one sheet per kind."""
    from recovery.db.engine import make_engine
    from recovery.reports.build import build_report
    from recovery.reports.formats import write_xlsx
    from recovery.reports.sites import iter_sites
    from recovery.timeutil import end_of_day

    engine = make_engine(f"sqlite:///{path}")
    out = path.parent / f"{writer}-{n}.xlsx"
    with Session(engine) as session:
        payload = build_report(session, day)
        base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        sites = iter_sites(session, end_of_day(day), None, limit=n, geometry=False)
        if writer == "ledger":
            total = sum(write_xlsx(payload, sites, out).values())
        else:
            total = _baseline_write(writer, sites, out)
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "writer": writer,
        "sites": total,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak / 1024, 1),
        "growth_mb": round((peak - base_rss) / 1024, 1),
        "file_mb": round(out.stat().st_size / 2**20, 1),
    }


def _baseline_write(writer: str, sites, out: Path) -> int:
    """The kind sheets' cells (the ledger's columns and values), written by openpyxl or XlsxWriter."""
    from recovery.kinds import KINDS
    from recovery.reports.formats import _columns, sub_label
    from recovery.timeutil import ZONE

    layouts = {k.key: _columns(k) for k in KINDS.values()}

    def values(site) -> list:
        measures, attributes, _names, _widths = layouts[site.kind]
        moments = (site.reported_at, site.deadline, site.done_at)
        attrs = [site.attributes.get(a) for a in attributes]
        return [
            site.key,
            site.name,
            site.address,
            KINDS[site.kind].status(site.status).zh,
            sub_label(site.subdistrict) if site.subdistrict else None,
            *(None if t is None else t.astimezone(ZONE).replace(tzinfo=None) for t in moments),
            *(site.level if m == "capacity_pct" else site.measures.get(m) for m in measures),
            *((("是" if v else "否") if isinstance(v, bool) else v) for v in attrs),
            round(site.lon, 7),
            round(site.lat, 7),
        ]

    n = 0
    if writer == "openpyxl":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheets = {}
        for site in sites:
            if site.kind not in sheets:
                sheets[site.kind] = book.create_sheet(KINDS[site.kind].zh)
                sheets[site.kind].append(layouts[site.kind][2])
            sheets[site.kind].append(values(site))
            n += 1
        book.save(out)
        return n
    import xlsxwriter

    book = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_urls": False})
    when = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheets = {}
    for site in sites:
        if site.kind not in sheets:
            sheet = book.add_worksheet(KINDS[site.kind].zh)
            sheet.write_row(0, 0, layouts[site.kind][2])
            sheets[site.kind] = [sheet, 0]
        entry = sheets[site.kind]
        entry[1] += 1
        for col, value in enumerate(values(site)):
            if value is not None:
                entry[0].write(entry[1], col, value, when if 5 <= col <= 7 else None)
        n += 1
    book.close()
    return n


def _writers() -> list[str]:
    try:
        import xlsxwriter  # noqa: F401
    except ImportError:
        return list(WRITERS[:2])
    return list(WRITERS)


def excel(path: Path, args: argparse.Namespace) -> list[dict]:
    writers = _writers()
    print("Excel ledger (台账), each run in a fresh process:")
    print(
        f"  {'writer':<11} {'sites':>8} {'seconds':>8} {'× ledger':>9} {'peak RSS MB':>12} {'growth MB':>10} {'file MB':>8}"
    )
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        runs = {}
        for writer in writers:
            child = subprocess.run(
                [sys.executable, __file__, "--day", args.day, "--child", str(path), str(n), writer],
                capture_output=True,
                text=True,
                check=True,
            )
            runs[writer] = row = json.loads(child.stdout.strip().splitlines()[-1])
            ratio = row["seconds"] / max(runs["ledger"]["seconds"], 0.01)
            print(
                f"  {writer:<11} {row['sites']:>8,} {row['seconds']:8.2f} {ratio:8.1f}× {row['peak_rss_mb']:12.1f} "
                f"{row['growth_mb']:10.1f} {row['file_mb']:8.1f}"
            )
            rows.append(row)
    ledger = [r for r in rows if r["writer"] == "ledger"]
    if len(ledger) > 1:
        print(
            f"  ledger peak RSS from {ledger[0]['sites']:,} to {ledger[-1]['sites']:,} sites: "
            f"{ledger[0]['peak_rss_mb']:.1f} → {ledger[-1]['peak_rss_mb']:.1f} MB "
            f"(target: under 20 s at 100,000 sites, memory flat)"
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--day", default="2021-07-29")
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--excel-only", action="store_true", help="skip the figures, time the Excel export only"
    )
    parser.add_argument("--child", nargs=3, metavar=("PATH", "N", "WRITER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    day = date.fromisoformat(args.day)
    if args.child:
        print(json.dumps(excel_one(Path(args.child[0]), day, int(args.child[1]), args.child[2])))
        return
    if not SOURCE.exists():
        sys.exit(f"{SOURCE} is missing: run bench/daily_summary.py first (it builds 100k sites / 1M events)")
    path = _copy()
    try:
        result: dict = {}
        if not args.excel_only:
            result["figures"] = f = figures(path, day, args.repeat)
            print(f"daily report figures, {args.day}, 1M events (median of {args.repeat}):")
            print(f"  from the ledger   {f['ledger_ms']:9.1f} ms  (target ≤ 400)")
            print(f"  from the roll-up  {f['rollup_ms']:9.1f} ms  (target ≤ 10)")
            print(
                f"  whole report page {f['full_report_ms']:9.1f} ms  "
                "(figures + previous day + table + chart series)"
            )
            print(
                f"  plain replay      {f['baseline_replay_ms']:9.1f} ms  "
                f"(ledger {f['baseline_replay_ms'] / f['ledger_ms']:.0f}× faster, "
                f"roll-up {f['baseline_replay_ms'] / f['rollup_ms']:.0f}× faster); "
                f"same figures: {f['same_figures']}"
            )
        result["excel"] = excel(path, args)
        out = BENCH / "results" / "report_daily.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
