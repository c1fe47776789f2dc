"""Work items name their responsible unit by the vocabulary's key (`urban_management`, `gouzhao`), not by the
text someone typed (高新区城市管理局, 城管局, 沟赵办事处), so one unit is one row on the overdue board and in the
monthly ranking, and every page shows it in the reader's language.

Every stored text that a unit of `recovery.vocab.UNIT` names (key, Chinese or English name, alias, any case or
width) becomes that key. A text that names no unit (free text typed before this version) is kept as it was: it
stays readable (pages show an unknown key as written) and `recovery ledger verify` is unaffected; the list of such
texts is printed so an operator can add an alias or correct them. The downgrade writes the Chinese names back.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

work_item = sa.table("work_item", sa.column("id", sa.Integer), sa.column("responsible_unit", sa.String))


def _rewrite(convert) -> list[str]:
    """Apply `convert(text) -> text | None` to every distinct stored unit; the texts it leaves (None)."""
    connection = op.get_bind()
    stored = connection.execute(sa.select(work_item.c.responsible_unit).distinct()).scalars().all()
    left = []
    for text in stored:
        new = convert(text)
        if new is None:
            left.append(text)
        elif new != text:
            connection.execute(
                work_item.update().where(work_item.c.responsible_unit == text).values(responsible_unit=new)
            )
    return left


def upgrade() -> None:
    from recovery.vocab import vocabulary

    units = vocabulary("unit")

    def to_key(text):
        keys = units.resolve_all(text)
        return keys[0] if len(keys) == 1 else None

    left = _rewrite(to_key)
    if left:
        print(
            f"0011: {len(left)} responsible unit(s) kept as written (no unit of the vocabulary): {left[:20]}"
        )


def downgrade() -> None:
    from recovery.vocab import vocabulary

    units = vocabulary("unit")
    names = {t.key: t.zh for t in units.terms}
    _rewrite(names.get)
