"""The tables: teams, sites (with their current-state projection), work items, the event ledger, the roll-up."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from recovery.db.types import GeometryType, JSONType, UTCDateTime


def json_field(**kwargs: Any) -> Any:
    """A JSON document column (an empty one by default); the account tables use it too."""
    return Field(default_factory=dict, sa_column=Column(JSONType, nullable=False, **kwargs))


def utc_field(nullable: bool = True, index: bool = False) -> Any:
    """An instant column, stored in UTC on both databases (recovery.db.types.UTCDateTime)."""
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class TeamBase(SQLModel):
    key: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=200)
    type: str = Field(max_length=20)  # a key of recovery.vocab.TEAM_TYPE
    subdistrict: str | None = Field(default=None, max_length=20)
    members: int = 0


class Team(TeamBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    #: when the team was registered and retired (None: before the records begin / still serving); the rescue-force
    #: figures as of T count the teams registered by T and not retired by T (`recovery.admin.teams`)
    registered_at: datetime | None = utc_field()
    retired_at: datetime | None = utc_field()


class SiteBase(SQLModel):
    kind: str = Field(max_length=30)
    name: str = Field(max_length=200)
    address: str = Field(default="", max_length=300)
    priority: int = 2
    deadline: datetime | None = utc_field()


class Site(SiteBase, table=True):
    """A damaged site. Descriptive fields are set when it is reported; the projection fields follow the ledger."""

    __table_args__ = (
        Index("ix_site_kind_status", "kind", "status"),
        Index("ix_site_subdistrict", "subdistrict"),
        Index("ix_site_bbox", "minx", "maxx", "miny", "maxy"),
    )

    model_config = {"arbitrary_types_allowed": True}

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=40, unique=True)
    geom: BaseGeometry = Field(sa_column=Column(GeometryType(), nullable=False))
    minx: float
    miny: float
    maxx: float
    maxy: float
    subdistrict: str | None = Field(default=None, max_length=20)
    attributes: dict = json_field()
    segment: str = Field(default="", max_length=120)
    team_id: int | None = Field(default=None, foreign_key="team.id")
    # -- projection of the ledger (rebuilt by `recovery ledger rebuild`, checked by `ledger verify`)
    status: str = Field(max_length=30)
    track_status: dict = json_field()
    capacity_pct: float | None = None
    reported_at: datetime | None = utc_field(nullable=False)
    done_at: datetime | None = utc_field()
    last_valid_at: datetime | None = utc_field()
    version: int = 0


class WorkItemBase(SQLModel):
    category: str = Field(max_length=30)  # enterprise_request, supervision, review_problem
    title: str = Field(max_length=300)
    responsible_unit: str = Field(max_length=200)
    severity: str = Field(default="general", max_length=10)  # general (7 days) or major (30 days)


class WorkItem(WorkItemBase, table=True):
    """A 事项 (work order) tracked under 13710: what was handed to which unit, with its linked sites; its status,
    lead unit, deadlines and step times are a projection of its ledger events (`recovery.workitems.fold`)."""

    __tablename__ = "work_item"
    __table_args__ = (
        # migration 0013: a unit's inbox and the board read open items by unit and deadline from these
        Index("ix_work_item_status_due", "status", "resolve_due"),
        # migration 0015: the board's counts per (unit, status) and on-time rate from this index alone
        Index("ix_work_item_unit_status", "responsible_unit", "status", "resolve_due", "resolved_at"),
        # 0015: a unit's latest finished orders without a sort; the board's cards and first orders per unit
        Index("ix_work_item_unit_id", "responsible_unit", "id"),
        Index(
            "ix_work_item_board",
            "status",
            "responsible_unit",
            "resolve_due",
            "acknowledged_at",
            "acknowledge_due",
            "fed_back_at",
            "feedback_due",
            "resolved_at",
        ),
        # 0015: the few orders with co-units, which the inbox reads apart from the lead unit's
        Index(
            "ix_work_item_co_units",
            "status",
            "resolve_due",
            "id",
            "responsible_unit",
            "co_units",
            sqlite_where=text("co_units <> '[]'"),
            postgresql_where=text("co_units <> '[]'"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=40, unique=True)
    #: the first linked site (every linked site is in `work_item_site`)
    site_id: int | None = Field(default=None, foreign_key="site.id", index=True)
    #: open (交办, to acknowledge), acknowledged, fed_back, returned, resolved, verified, closed
    status: str = Field(default="open", max_length=20)
    description: str = Field(default="", max_length=4000)
    co_units: list = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    #: 网络计划: dated milestones [{"title": ..., "due": "YYYY-MM-DD"}]
    milestones: list = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    review_id: int | None = Field(default=None, foreign_key="review.id", index=True)
    created_by: int | None = Field(default=None)
    opened_at: datetime | None = utc_field(nullable=False)
    acknowledge_due: datetime | None = utc_field()
    feedback_due: datetime | None = utc_field(nullable=False)
    resolve_due: datetime | None = utc_field(nullable=False)
    acknowledged_at: datetime | None = utc_field()
    fed_back_at: datetime | None = utc_field()
    resolved_at: datetime | None = utc_field()
    verified_at: datetime | None = utc_field()
    closed_at: datetime | None = utc_field()
    #: an extension asked for and not yet decided (the day asked for)
    extension_until: datetime | None = utc_field()
    version: int = 0


class WorkItemSite(SQLModel, table=True):
    """The sites a work order concerns (zero or more)."""

    __tablename__ = "work_item_site"
    work_item_id: int = Field(foreign_key="work_item.id", primary_key=True)
    site_id: int = Field(foreign_key="site.id", primary_key=True, index=True)


class Unit(SQLModel, table=True):
    """A responsible unit's details (责任单位: leader, contacts). Its key and names are the vocabulary's
    (`recovery.vocab.UNIT`); this row holds what an admin edits."""

    __tablename__ = "unit"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=40, unique=True)
    leader: str = Field(default="", max_length=120)
    #: [{"name": ..., "phone": ..., "title": ...}]
    contacts: list = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    note: str = Field(default="", max_length=2000)
    updated_at: datetime | None = utc_field()


class Review(SQLModel, table=True):
    """A weekly on-site review (周观摩): when, where it went, who took part; its problems are work orders."""

    __tablename__ = "review"
    id: int | None = Field(default=None, primary_key=True)
    held_on: str = Field(max_length=10, index=True)  # YYYY-MM-DD, the zone's day
    title: str = Field(max_length=300)
    site_ids: list = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    participants: list = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    note: str = Field(default="", max_length=4000)
    created_by: int | None = Field(default=None)
    created_at: datetime | None = utc_field(nullable=False)


_STATUS_EVENTS = "action IN ('report', 'transition', 'reopen') AND flag IS NULL"


class Event(SQLModel, table=True):
    """One append-only entry of the ledger. Rows are inserted, never updated or deleted."""

    __table_args__ = (
        Index("ix_event_site_valid", "site_id", "track", "valid_at", "id"),
        Index("ix_event_valid", "valid_at"),
        Index("ix_event_recorded", "recorded_at"),
        Index("ix_event_work_item", "work_item_id"),
        # migration 0003: the latest status event per (site, track) before T, read from the index alone
        Index(
            "ix_event_latest",
            "site_id",
            "track",
            "valid_at",
            "id",
            "to_status",
            "level",
            sqlite_where=text(_STATUS_EVENTS),
            postgresql_where=text(_STATUS_EVENTS),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    client_id: str | None = Field(default=None, max_length=100, unique=True)
    body_hash: str = Field(max_length=64)
    action: str = Field(max_length=30)
    site_id: int | None = Field(default=None, foreign_key="site.id")
    work_item_id: int | None = Field(default=None, foreign_key="work_item.id")
    actor: str = Field(max_length=200)
    track: str | None = Field(default=None, max_length=20)
    from_status: str | None = Field(default=None, max_length=30)
    to_status: str | None = Field(default=None, max_length=30)
    level: float | None = None  # the level this event sets (an enterprise's capacity %), if any
    measures: dict = json_field()
    note: str = Field(default="", max_length=2000)
    valid_at: datetime | None = utc_field(nullable=False)
    recorded_at: datetime | None = utc_field(nullable=False)
    #: where the reporter stood, converted to WGS-84; `details` keeps what the client sent (its CRS, raw values)
    position_lon: float | None = None
    position_lat: float | None = None
    details: dict = json_field()
    user_id: int | None = Field(default=None, index=True)
    #: why the event was stored but not applied to the projection (e.g. it would reopen a closed site)
    flag: str | None = Field(default=None, max_length=40, index=True)


class EventMeasure(SQLModel, table=True):
    """The flow quantities of an event (m³ of silt, tonnes of garbage), one row each, for fast sums."""

    __tablename__ = "event_measure"
    __table_args__ = (
        Index("ix_event_measure_valid", "key", "valid_at"),
        # migration 0007: the flows summed by cell from this index alone, in group order
        Index("ix_event_measure_cell", "cell", "key", "valid_at", "value", "recorded_at"),
    )

    event_id: int = Field(foreign_key="event.id", primary_key=True)
    key: str = Field(max_length=30, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    value: float
    valid_at: datetime | None = utc_field(nullable=False)
    recorded_at: datetime | None = utc_field(nullable=False)
    #: the number of the site's (kind, sub-district, segment) in `measure_cell`; left NULL by the writers and
    #: filled by a trigger (migration 0007), which also follows a site whose dims change
    cell: int | None = None


class RollupDelta(SQLModel, table=True):
    """Daily roll-up as deltas: the figures at the end of day D are the sums of the rows with day <= D.

    `quantity` is `n` (sites in that status), `level` (sum of capacity %), a flow measure key, or
    `check_in` (counted per day, not cumulatively). Kept in the same transaction as each event.
    """

    __tablename__ = "rollup_delta"
    __table_args__ = (
        UniqueConstraint(
            "day", "kind", "subdistrict", "segment", "track", "status", "quantity", name="uq_rollup_cell"
        ),
        # migration 0009: the deltas of the days up to D by cell number, read from this index alone
        Index("ix_rollup_delta_day_cell", "day", "cell", "quantity", "delta"),
    )

    id: int | None = Field(default=None, primary_key=True)
    day: str = Field(max_length=10)  # YYYY-MM-DD in the zone's time zone
    kind: str = Field(max_length=30)
    subdistrict: str = Field(default="", max_length=20)
    segment: str = Field(default="", max_length=120)
    track: str = Field(default="", max_length=20)
    status: str = Field(default="", max_length=30)
    quantity: str = Field(max_length=30)
    delta: float = 0.0
    #: the number of (kind, sub-district, segment, track, status, quantity) in `rollup_cell`; left NULL by the
    #: writers and filled by a trigger (migration 0009)
    cell: int | None = None


#: the columns that name one roll-up cell (the unique constraint but the day): what a reader groups by
ROLLUP_CELL = (
    RollupDelta.kind,
    RollupDelta.subdistrict,
    RollupDelta.segment,
    RollupDelta.track,
    RollupDelta.status,
    RollupDelta.quantity,
)
