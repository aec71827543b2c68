"""The incident ledger's tables (`incident`, `incident_delivery`) join the migration history, and
`venue.changed_at` says when anything an overview tile shows last changed (the web board polls it).

Before this revision the incident desk created its two tables itself (`metadata.create_all`) the first
time it ran, so a database at 0001 may already hold them with rows: they are then kept as they are
(same columns, same index names) and only what is missing is created. `changed_at` starts NULL and is
filled from `state_since` for venues that have a state, so a board that polls from the start sees every
venue once.

Revision ID: 0002_incident_ledger
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_incident_ledger"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

INCIDENT_INDEXES = {
    "ix_incident_venue": ["venue"],
    "ix_incident_conference_id": ["conference_id"],
    "ix_incident_at": ["at"],
}
DELIVERY_INDEXES = {"ix_incident_delivery_state": ["state"]}


def _create_missing_indexes(table: str, wanted: dict[str, list[str]]) -> None:
    existing = {index["name"] for index in sa.inspect(op.get_bind()).get_indexes(table)}
    with op.batch_alter_table(table, schema=None) as batch_op:
        for name, columns in wanted.items():
            if name not in existing:
                batch_op.create_index(name, columns, unique=False)


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("incident"):
        op.create_table(
            "incident",
            sa.Column("key", sa.String(length=400), nullable=False),
            sa.Column("kind", sa.String(length=32), nullable=False),
            sa.Column("code", sa.String(length=64), nullable=False),
            sa.Column("severity", sa.String(length=16), nullable=False),
            sa.Column("venue", sa.String(length=300), nullable=False),
            sa.Column("conference_id", sa.String(length=128), nullable=True),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("payload", JSON_DOCUMENT, nullable=False),
            sa.PrimaryKeyConstraint("key", name=op.f("pk_incident")),
        )
    _create_missing_indexes("incident", INCIDENT_INDEXES)
    if not inspector.has_table("incident_delivery"):
        op.create_table(
            "incident_delivery",
            sa.Column("incident_key", sa.String(length=400), nullable=False),
            sa.Column("sink", sa.String(length=64), nullable=False),
            sa.Column("state", sa.String(length=16), nullable=False),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("lease_owner", sa.String(length=64), nullable=True),
            sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
            sa.Column("last_error", sa.String(length=300), nullable=True),
            sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("incident_key", "sink", name=op.f("pk_incident_delivery")),
        )
    _create_missing_indexes("incident_delivery", DELIVERY_INDEXES)

    with op.batch_alter_table("venue", schema=None) as batch_op:
        batch_op.add_column(sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_venue_changed_at"), ["changed_at"], unique=False)
    op.execute("UPDATE venue SET changed_at = state_since WHERE state_since IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("venue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_venue_changed_at"))
        batch_op.drop_column("changed_at")
    op.drop_table("incident_delivery")
    op.drop_table("incident")
