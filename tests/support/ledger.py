"""The ledger's writers as tests call them one change at a time: each change committed (callers own the
transaction; a refused change rolls back the whole transaction, so what came before must be committed)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.orm import Session

from recovery import command, sites, workitems
from recovery.db.engine import make_engine
from recovery.ledger import record
from recovery.timeutil import ZONE

Result = TypeVar("Result")


def committed(write: Callable[..., Result]) -> Callable[..., Result]:
    @functools.wraps(write)
    def run(session, *args, **kwargs) -> Result:
        result = write(session, *args, **kwargs)
        session.commit()
        return result

    return run


record_site_event = committed(record.record_site_event)
record_site_edit = committed(record.record_site_edit)
report_site = committed(sites.report_site)
open_work_item = committed(workitems.open_work_item)
advance_work_item = committed(workitems.advance_work_item)
assign_sites = committed(command.assign_sites)


def add_overdue_items(url: str) -> list[str]:
    """Open work items that are overdue on every day drawn: no feedback, unresolved, general and major."""
    engine = make_engine(url)
    titles = []
    with Session(engine) as session:
        opened = datetime(2021, 7, 10, 9, tzinfo=ZONE)  # before the flood: overdue on every day drawn
        units = [
            ("general", "石佛办事处"),
            ("major", "城市管理局"),
            ("general", "城市管理局"),
            ("major", "商务局"),
        ]
        for n, (severity, unit) in enumerate(units):
            title = f"逾期事项{n}<b>粗体</b>"
            open_work_item(
                session,
                category="supervision",
                title=title,
                responsible_unit=unit,
                severity=severity,
                actor="commander",
                valid_at=opened + timedelta(hours=n),
                key=f"WI-OVERDUE-{n}",
            )
            titles.append(title)
    engine.dispose()
    return titles
