"""The ledger's writers as tests call them one change at a time: each change committed (callers own the
transaction; a refused change rolls back the whole transaction, so what came before must be committed)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

from recovery import command, sites, workitems
from recovery.ledger import record

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
