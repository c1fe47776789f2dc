"""Benchmark the daily report over the synthetic 1,000,000-event ledger (from the ledger, from the roll-up, beside a
plain Python replay) and the Excel ledger export at 10k/50k/100k sites (time and peak memory, to show it is flat).

Uses a COPY of bench/.data/recovery_bench.sqlite3 (built by bench/daily_summary.py); the original is not touched.
    python bench/report_daily.py [--day 2021-07-29] [--sizes 10000,50000,100000] [--repeat 5]
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


def excel_one(path: Path, day: date, n: int) -> dict:
    """One export in this process; run in a child so each size's peak RSS is its own."""
    from recovery.db.engine import make_engine
    from recovery.reports.build import build_report
    from recovery.reports.formats import write_xlsx
    from recovery.reports.sites import iter_sites
    from recovery.timeutil import end_of_day

    engine = make_engine(f"sqlite:///{path}")
    out = path.parent / f"ledger-{n}.xlsx"
    with Session(engine) as session:
        payload = build_report(session, day)
        base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        counts = write_xlsx(payload, iter_sites(session, end_of_day(day), None, limit=n), out)
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "sites": sum(counts.values()),
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak / 1024, 1),
        "growth_mb": round((peak - base_rss) / 1024, 1),
        "file_mb": round(out.stat().st_size / 2**20, 1),
    }


def excel_baseline(path: Path, n: int) -> dict:
    """Plain baseline: the same number of rows of plain values through openpyxl's write-only mode, nothing else."""
    from openpyxl import Workbook

    start = time.perf_counter()
    book = Workbook(write_only=True)
    sheet = book.create_sheet("rows")
    for i in range(n):
        sheet.append([f"S-{i}", "名称", "地址", "已修复", "石佛", None, None, None, 1.0, 2.0, 113.6, 34.8])
    book.save(path.parent / f"baseline-{n}.xlsx")
    return {"seconds": round(time.perf_counter() - start, 2)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--day", default="2021-07-29")
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", nargs=2, metavar=("PATH", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    day = date.fromisoformat(args.day)
    if args.child:
        print(json.dumps(excel_one(Path(args.child[0]), day, int(args.child[1]))))
        return
    if not SOURCE.exists():
        sys.exit(f"{SOURCE} is missing: run bench/daily_summary.py first (it builds 100k sites / 1M events)")
    path = _copy()
    try:
        result = {"figures": figures(path, day, args.repeat), "excel": []}
        f = result["figures"]
        print(f"daily report figures, {args.day}, 1M events (median of {args.repeat}):")
        print(f"  from the ledger   {f['ledger_ms']:9.1f} ms  (target ≤ 400)")
        print(f"  from the roll-up  {f['rollup_ms']:9.1f} ms  (target ≤ 10)")
        print(
            f"  whole report page {f['full_report_ms']:9.1f} ms  (figures + previous day + table + chart series)"
        )
        print(
            f"  plain replay      {f['baseline_replay_ms']:9.1f} ms  "
            f"(ledger {f['baseline_replay_ms'] / f['ledger_ms']:.0f}× faster, "
            f"roll-up {f['baseline_replay_ms'] / f['rollup_ms']:.0f}× faster); same figures: {f['same_figures']}"
        )
        print(
            "Excel ledger (台账):   sites   seconds   baseline s   ratio   peak RSS MB   growth MB   file MB"
        )
        for n in [int(s) for s in args.sizes.split(",")]:
            child = subprocess.run(
                [sys.executable, __file__, "--day", args.day, "--child", str(path), str(n)],
                capture_output=True,
                text=True,
                check=True,
            )
            row = json.loads(child.stdout.strip().splitlines()[-1])
            row["baseline_seconds"] = excel_baseline(path, row["sites"])["seconds"]
            result["excel"].append(row)
            print(
                f"  {row['sites']:>21,} {row['seconds']:9.2f} {row['baseline_seconds']:12.2f} "
                f"{row['seconds'] / max(row['baseline_seconds'], 0.01):7.1f}× {row['peak_rss_mb']:13.1f} "
                f"{row['growth_mb']:11.1f} {row['file_mb']:9.1f}"
            )
        out = BENCH / "results" / "report_daily.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
