"""When the broker got a venue's availability: `venue.availability_broker_at` and
`availability_transition.broker_at`.

The agent publishes its availabilities and sets its Last Will with the contract's MQTT 5 Message Expiry
Interval (contract/availability.py); the broker counts it down while a copy waits, so the hub knows when
the broker got each copy and orders a venue's availabilities by that rather than by its own receipt
(hub/ingest/availability_order.py). Both columns are nullable: rows written before this revision, and
availabilities that carry no interval (MQTT 3.1.1, an older agent), have none and are ordered by receipt.

Revision ID: 0004_availability_broker_at
Revises: 0003_board
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_availability_broker_at"
down_revision = "0003_board"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("venue", schema=None) as batch_op:
        batch_op.add_column(sa.Column("availability_broker_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("availability_transition", schema=None) as batch_op:
        batch_op.add_column(sa.Column("broker_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("availability_transition", schema=None) as batch_op:
        batch_op.drop_column("broker_at")
    with op.batch_alter_table("venue", schema=None) as batch_op:
        batch_op.drop_column("availability_broker_at")
