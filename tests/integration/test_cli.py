"""The command line, as a user types it: seed load, ledger verify, metrics, the daily bulletin."""

from __future__ import annotations

import json

import pytest
from support.article import ARTICLE, ARTICLE_PARAGRAPH


@pytest.mark.slow
def test_seed_load_then_again_changes_nothing(runner):
    first = runner.invoke(args=["seed", "load"])
    assert first.exit_code == 0, first.output
    assert "9756 sites" in first.output or "sites" in first.output
    second = runner.invoke(args=["seed", "load"])
    assert second.exit_code == 0 and "already loaded" in second.output
    verify = runner.invoke(args=["ledger", "verify"])
    assert verify.exit_code == 0 and "0 differences" in verify.output


def test_report_daily_text_and_json(seeded_runner):
    text = seeded_runner.invoke(args=["report", "daily", "--date", "2021-07-29", "--format", "text"])
    assert text.exit_code == 0 and text.output.strip() == ARTICLE_PARAGRAPH
    raw = seeded_runner.invoke(args=["report", "daily", "--date", "2021-07-29", "--format", "json"])
    payload = json.loads(raw.output)
    figures = {f["key"]: f for f in payload["figures"]}
    assert {k: figures[k]["printed"] for k in ARTICLE} == ARTICLE
    assert payload["bulletin"] == ARTICLE_PARAGRAPH
    for figure in figures.values():
        assert figure["label"] and figure["definition"]["text"] and "value" in figure


def test_metrics_as_of_and_known_at(seeded_runner):
    out = seeded_runner.invoke(args=["metrics", "--as-of", "2021-07-29", "--format", "json"])
    figures = {f["key"]: f["printed"] for f in json.loads(out.output)["figures"]}
    assert figures["composite_restart_rate"] == "98.75" and figures["restart_headcount_rate"] == "99.11"
    # as known before the seed's first upload, nothing had been recorded yet
    early = seeded_runner.invoke(
        args=[
            "metrics",
            "--as-of",
            "2021-07-29",
            "--known-at",
            "2021-07-19T00:00:00+08:00",
            "--format",
            "json",
        ]
    )
    assert {f["key"]: f["printed"] for f in json.loads(early.output)["figures"]}["road_collapse_total"] == "0"


def test_bad_date_is_a_clear_error(seeded_runner):
    out = seeded_runner.invoke(args=["report", "daily", "--date", "29/07/2021"])
    assert out.exit_code == 2 and "29/07/2021" in out.output


def test_synthetic_load_verifies_clean(runner):
    out = runner.invoke(args=["seed", "synthetic", "--sites", "300", "--events", "2000"])
    assert out.exit_code == 0, out.output
    assert "300 sites, 2000 events" in out.output
    verify = runner.invoke(args=["ledger", "verify"])
    assert verify.exit_code == 0, verify.output


def test_settings_are_listed(runner):
    out = runner.invoke(args=["settings"])
    assert "RECOVERY_DATABASE_URL" in out.output and "RECOVERY_SQLITE_SYNCHRONOUS" in out.output
