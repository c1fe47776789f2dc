"""The 7·20 flood's calendar: the day the storm began, the roads' deadline, and the first day a query may name.

Every date a request or command names (`/?date=`, `/map?date=`, `/reports/daily/<day>`, `as_of`, `known_at`,
OGC `datetime`, `recovery export --as-of`) must fall in the incident's window, from `WINDOW_START` to
tomorrow in the zone (`recovery.timeutil.query_window`). Before the window there is nothing to show; after it
nothing has happened yet ("tomorrow" leaves room for a client a few hours ahead of the server's clock). A date
outside is refused with a 400 naming the window, so no request can make the server walk years of empty days.
"""

from __future__ import annotations

from datetime import date

#: the rainstorm of 20 July 2021 ("7·20"): the recovery's first day, where its day-by-day series start
FIRST_DAY = date(2021, 7, 20)
#: every collapsed road restored by 15 August 2021 (先主后次、先通后畅)
ROAD_DEADLINE = date(2021, 8, 15)
#: the first day a query may name: the start of the flood season's month, so the days before the storm (the
#: baseline, "as known before the first upload") can still be asked for
WINDOW_START = date(2021, 7, 1)
#: how far ahead a deadline may be set (a 13710 item is resolved within a month; a year is ample)
DEADLINE_HORIZON_DAYS = 366
