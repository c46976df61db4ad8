"""retention and notices

Issue 15: ``reports.closed_on`` (the day a case was closed, from which
retention counts) and ``reports.purged_on`` (the day its sealed content was
deleted, the plain codes kept for statistics); ``retention_holds`` (a
coordinator's hold on a case's deletion); ``accounts.notify_by_email`` and
``accounts.notice_language`` with ``notices`` (the quiet e-mail notice's
state per person: only "there is activity", never what or when).

Cases closed before this revision get today as their closing day: the
audit log knows the real day, but counting from today can only keep a case
longer than its rule says, never delete one earlier than an operator expects.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

# 64-bit on PostgreSQL for random ids; INTEGER (the rowid) on SQLite.
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('reports') as batch:
        batch.add_column(sa.Column('closed_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('purged_on', sa.Date(), nullable=True))
    reports = sa.table(
        'reports', sa.column('status', sa.String()), sa.column('closed_on', sa.Date())
    )
    op.execute(
        reports.update()
        .where(reports.c.status == 'closed', reports.c.closed_on.is_(None))
        .values(closed_on=date.today())
    )
    op.create_table(
        'retention_holds',
        sa.Column('report_id', ROW_ID, nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('until', sa.Date(), nullable=False),
        sa.Column('set_on', sa.Date(), nullable=False),
        sa.Column('set_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['report_id'], ['reports.id'],
            name=op.f('fk_retention_holds_report_id_reports'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['set_by'], ['accounts.id'],
            name=op.f('fk_retention_holds_set_by_accounts'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('report_id', name=op.f('pk_retention_holds')),
    )
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(
            sa.Column(
                'notify_by_email', sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch.add_column(sa.Column('notice_language', sa.String(length=5), nullable=True))
    op.create_table(
        'notices',
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('activity', sa.Boolean(), nullable=False),
        sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['account_id'], ['accounts.id'],
            name=op.f('fk_notices_account_id_accounts'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('account_id', name=op.f('pk_notices')),
    )


def downgrade() -> None:
    op.drop_table('notices')
    with op.batch_alter_table('accounts') as batch:
        batch.drop_column('notice_language')
        batch.drop_column('notify_by_email')
    op.drop_table('retention_holds')
    with op.batch_alter_table('reports') as batch:
        batch.drop_column('purged_on')
        batch.drop_column('closed_on')
