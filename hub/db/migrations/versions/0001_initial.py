"""Initial schema: venues, current status, availability transitions, events, seq cursors and gaps,
self-test reports, conference summaries, pushed conferences, roll calls and hub processes.

Revision ID: 0001
Revises:
Create Date: 2026-12-02 06:11:29.067203
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# JSON on SQLite, JSONB on PostgreSQL (as hub.db.models.JsonDocument); times are stored in UTC.
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "conference",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_min", sa.Integer(), nullable=False),
        sa.Column("far_end", sa.String(length=256), nullable=True),
        sa.Column("scope", sa.String(length=300), nullable=False),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", JSON_DOCUMENT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conference")),
    )
    with op.batch_alter_table("conference", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conference_start"), ["start"], unique=False)

    op.create_table(
        "hub_process",
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("hostname", sa.String(length=256), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=300), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("counters", JSON_DOCUMENT, nullable=False),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_hub_process")),
    )
    op.create_table(
        "rollcall",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("conference_id", sa.String(length=128), nullable=True),
        sa.Column("scope", sa.String(length=300), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline_s", sa.Float(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("warned", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("silent", sa.Integer(), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollcall")),
    )
    with op.batch_alter_table("rollcall", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rollcall_conference_id"), ["conference_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rollcall_started_at"), ["started_at"], unique=False)

    op.create_table(
        "venue",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("province", sa.String(length=64), nullable=False),
        sa.Column("prefecture", sa.String(length=64), nullable=False),
        sa.Column("county", sa.String(length=64), nullable=False),
        sa.Column("venue_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=True),
        sa.Column("in_inventory", sa.Boolean(), nullable=False),
        sa.Column("inventory_contacts", JSON_DOCUMENT, nullable=True),
        sa.Column("contacts", JSON_DOCUMENT, nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("availability", sa.String(length=16), nullable=True),
        sa.Column("availability_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_interval_s", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_venue")),
    )
    with op.batch_alter_table("venue", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_venue_prefecture"), ["prefecture"], unique=False)

    op.create_table(
        "availability_transition",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("venue_key", sa.String(length=300), nullable=False),
        sa.Column("previous", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["venue_key"], ["venue.key"], name=op.f("fk_availability_transition_venue_key_venue"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_transition")),
    )
    with op.batch_alter_table("availability_transition", schema=None) as batch_op:
        batch_op.create_index("ix_availability_transition_venue_at", ["venue_key", "at"], unique=False)

    op.create_table(
        "conference_summary",
        sa.Column("venue_key", sa.String(length=300), nullable=False),
        sa.Column("conference_id", sa.String(length=128), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", JSON_DOCUMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["venue_key"], ["venue.key"], name=op.f("fk_conference_summary_venue_key_venue"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("venue_key", "conference_id", name=op.f("pk_conference_summary")),
    )
    op.create_table(
        "conference_venue",
        sa.Column("conference_id", sa.String(length=128), nullable=False),
        sa.Column("venue_key", sa.String(length=300), nullable=False),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["conference_id"],
            ["conference.id"],
            name=op.f("fk_conference_venue_conference_id_conference"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["venue_key"], ["venue.key"], name=op.f("fk_conference_venue_venue_key_venue"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("conference_id", "venue_key", name=op.f("pk_conference_venue")),
    )
    with op.batch_alter_table("conference_venue", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conference_venue_venue_key"), ["venue_key"], unique=False)

    op.create_table(
        "event",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("venue_key", sa.String(length=300), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=128), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("conference_id", sa.String(length=128), nullable=True),
        sa.Column("check_id", sa.String(length=256), nullable=True),
        sa.Column("verdict", sa.String(length=16), nullable=True),
        sa.Column("payload", JSON_DOCUMENT, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["venue_key"], ["venue.key"], name=op.f("fk_event_venue_key_venue"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_code"), ["code"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_conference_id"), ["conference_id"], unique=False)
        batch_op.create_index("ix_event_venue_seq", ["venue_key", "seq"], unique=False)
        batch_op.create_index("ix_event_venue_ts", ["venue_key", "ts"], unique=False)

    op.create_table(
        "rollcall_row",
        sa.Column("rollcall_id", sa.String(length=64), nullable=False),
        sa.Column("venue_key", sa.String(length=300), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=True),
        sa.Column("failed_items", JSON_DOCUMENT, nullable=False),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("liaison", JSON_DOCUMENT, nullable=True),
        sa.Column("selftest_id", sa.String(length=64), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["rollcall_id"], ["rollcall.id"], name=op.f("fk_rollcall_row_rollcall_id_rollcall"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["venue_key"], ["venue.key"], name=op.f("fk_rollcall_row_venue_key_venue"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("rollcall_id", "venue_key", name=op.f("pk_rollcall_row")),
    )
    with op.batch_alter_table("rollcall_row", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rollcall_row_venue_key"), ["venue_key"], unique=False)

    op.create_table(
        "selftest_report",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("venue_key", sa.String(length=300), nullable=False),
        sa.Column("trigger", sa.String(length=64), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("conference_id", sa.String(length=128), nullable=True),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", JSON_DOCUMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["venue_key"], ["venue.key"], name=op.f("fk_selftest_report_venue_key_venue"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_selftest_report")),
    )
    with op.batch_alter_table("selftest_report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_selftest_report_conference_id"), ["conference_id"], unique=False)
        batch_op.create_index("ix_selftest_report_venue_ts", ["venue_key", "ts"], unique=False)

    op.create_table(
        "seq_cursor",
        sa.Column("venue_key", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("contiguous_through", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["venue_key"], ["venue.key"], name=op.f("fk_seq_cursor_venue_key_venue"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("venue_key", "kind", name=op.f("pk_seq_cursor")),
    )
    op.create_table(
        "seq_gap",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("venue_key", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("from_seq", sa.BigInteger(), nullable=False),
        sa.Column("to_seq", sa.BigInteger(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recovered", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["venue_key"], ["venue.key"], name=op.f("fk_seq_gap_venue_key_venue"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seq_gap")),
        sa.UniqueConstraint("venue_key", "kind", "from_seq", name=op.f("uq_seq_gap_venue_key")),
    )
    with op.batch_alter_table("seq_gap", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_seq_gap_venue_key"), ["venue_key"], unique=False)

    op.create_table(
        "venue_status",
        sa.Column("venue_key", sa.String(length=300), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("overall", sa.String(length=16), nullable=False),
        sa.Column("failing", JSON_DOCUMENT, nullable=False),
        sa.Column("payload", JSON_DOCUMENT, nullable=False),
        sa.Column("metrics", JSON_DOCUMENT, nullable=True),
        sa.Column("metrics_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["venue_key"], ["venue.key"], name=op.f("fk_venue_status_venue_key_venue"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("venue_key", name=op.f("pk_venue_status")),
    )


def downgrade() -> None:
    op.drop_table("venue_status")
    with op.batch_alter_table("seq_gap", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seq_gap_venue_key"))

    op.drop_table("seq_gap")
    op.drop_table("seq_cursor")
    with op.batch_alter_table("selftest_report", schema=None) as batch_op:
        batch_op.drop_index("ix_selftest_report_venue_ts")
        batch_op.drop_index(batch_op.f("ix_selftest_report_conference_id"))

    op.drop_table("selftest_report")
    with op.batch_alter_table("rollcall_row", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rollcall_row_venue_key"))

    op.drop_table("rollcall_row")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index("ix_event_venue_ts")
        batch_op.drop_index("ix_event_venue_seq")
        batch_op.drop_index(batch_op.f("ix_event_conference_id"))
        batch_op.drop_index(batch_op.f("ix_event_code"))

    op.drop_table("event")
    with op.batch_alter_table("conference_venue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conference_venue_venue_key"))

    op.drop_table("conference_venue")
    op.drop_table("conference_summary")
    with op.batch_alter_table("availability_transition", schema=None) as batch_op:
        batch_op.drop_index("ix_availability_transition_venue_at")

    op.drop_table("availability_transition")
    with op.batch_alter_table("venue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_venue_prefecture"))

    op.drop_table("venue")
    with op.batch_alter_table("rollcall", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rollcall_started_at"))
        batch_op.drop_index(batch_op.f("ix_rollcall_conference_id"))

    op.drop_table("rollcall")
    op.drop_table("hub_process")
    with op.batch_alter_table("conference", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conference_start"))

    op.drop_table("conference")
