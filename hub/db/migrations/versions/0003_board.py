"""The board's table: `snapshot`, the uplink pictures venues publish (hub/snapshots/models.py).

Revision ID: 0003_board
Revises: 0002_incident_ledger
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_board"
down_revision = "0002_incident_ledger"
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "snapshot",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("venue_key", sa.String(length=300), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("selftest_id", sa.String(length=64), nullable=True),
        sa.Column("conference_id", sa.String(length=128), nullable=True),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("jpeg", sa.LargeBinary(), nullable=False),
        sa.Column("findings", JSON_DOCUMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["venue_key"], ["venue.key"], name=op.f("fk_snapshot_venue_key_venue"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshot")),
    )
    op.create_index("ix_snapshot_venue_ts", "snapshot", ["venue_key", "ts"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_snapshot_venue_ts", table_name="snapshot")
    op.drop_table("snapshot")
