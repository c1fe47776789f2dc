"""HTML pages. The home page is the command dashboard: headline figures, 13710, burn-down, ranking, restart."""

from __future__ import annotations

from collections import OrderedDict
from datetime import timedelta

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from recovery.dashboard.board import dashboard
from recovery.db import get_session
from recovery.geodata import load_geodata
from recovery.i18n import N_, current_locale, is_chinese, pick, translate
from recovery.metrics import by_area, cube_at, evaluate_all
from recovery.reports.daily import BULLETIN_KEYS, bulletin_text
from recovery.timeutil import end_of_day, query_window
from recovery.web.params import day_param
from recovery.web.policy import SIGNED_IN, allow

bp = Blueprint("pages", __name__)

HEADLINE_KEYS = (
    "road_collapse_handled",
    "road_collapse_total",
    "silt_sites_cleared",
    "silt_m3",
    "garbage_t",
    "enterprises_restarted",
    "enterprises_stopped",
    "restart_headcount_rate",
    "composite_restart_rate",
    "above_size_restart_share",
    "community_restored",
    "signals_ring4_repaired_rate",
    "disinfection_coverage",
    "work_items_open",
    "work_items_overdue_feedback",
    "work_items_overdue_resolve",
)


@bp.app_context_processor
def _page_context() -> dict:
    def lang_url(code: str) -> str:
        args = {**request.args.to_dict(), "lang": code}
        return url_for(request.endpoint or "pages.home", **(request.view_args or {}), **args)

    locale = current_locale()
    return {"zh": is_chinese(locale), "locale": locale, "lang_url": lang_url}


@bp.get("/")
@allow(*SIGNED_IN)
def home():
    session = get_session()
    day = day_param(session)
    cube = cube_at(session, end_of_day(day))
    figures = evaluate_all(cube)
    geodata = load_geodata(current_app.config["RECOVERY"]["GEODATA_DIR"])
    locale = current_locale()
    zh = is_chinese(locale)
    names = {sub.key: pick(sub.zh, sub.en, locale) for sub in geodata.subdistricts}
    # every sub-district, then the sites outside them all when there are any: the rows add up to the zone
    table = [
        (names.get(area) or translate(N_("Not assigned")), figs)
        for area, figs in by_area(cube, list(BULLETIN_KEYS)).items()
    ]
    return render_template(
        "home.html",
        day=day,
        window=query_window(),
        previous_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1),
        headline=[figures[k] for k in HEADLINE_KEYS],
        bulletin=bulletin_text(day, figures),
        table=table,
        board=dashboard(
            session, day, current_app.extensions.setdefault("recovery.map_tables", OrderedDict()), zh
        ),
        subdistrict_names=names,
    )


@bp.get("/favicon.ico")
@allow("anonymous")
def favicon():
    """Browsers ask every host for /favicon.ico: the app's icon (pages also name it with <link rel="icon">)."""
    return redirect(url_for("static", filename="field/icons/icon-192.png"), code=301)
