"""packs out

Issue 12: ``partners`` (organisations that receive referred cases, with
their age recipients), ``key_wraps.escrow_key`` (which escrow key an escrow
wrap was made to, for rotation) and ``reports.receipt_params`` (the Argon2id
cost a receipt was derived with, so the cost can be raised later).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# 64-bit on PostgreSQL for random ids; INTEGER (the rowid) on SQLite.
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'partners',
        sa.Column('id', ROW_ID, nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('contact', sa.Text(), nullable=False),
        sa.Column('recipients', sa.Text(), nullable=False),
        sa.Column('added_on', sa.Date(), nullable=False),
        sa.Column('added_by', sa.Integer(), nullable=True),
        sa.Column('removed_on', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ['added_by'], ['accounts.id'],
            name=op.f('fk_partners_added_by_accounts'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_partners')),
        sa.UniqueConstraint('name', name=op.f('uq_partners_name')),
    )
    with op.batch_alter_table('key_wraps') as batch:
        batch.add_column(sa.Column('escrow_key', sa.String(length=16), nullable=True))
    with op.batch_alter_table('reports') as batch:
        batch.add_column(sa.Column('receipt_params', sa.LargeBinary(), nullable=True))
    op.create_index('ix_reports_receipt_params', 'reports', ['receipt_params'])
    _record_receipt_cost()


def _record_receipt_cost() -> None:
    """Every existing report's receipt was derived with the cost configured now.

    Recorded here, while that is still true, so that raising the cost later
    leaves these receipts working.  ``registry init`` passes the configured
    cost (registry.models.migrate.upgrade, attribute ``receipt_params``);
    without it the column stays NULL, which the follow-up page reads as the
    cost configured when it runs.  Upgrade before raising the cost (README
    "Receipts").
    """
    encoded = op.get_context().config.attributes.get('receipt_params')
    if encoded is None:
        return
    reports = sa.table('reports', sa.column('receipt_params', sa.LargeBinary()))
    op.execute(
        reports.update()
        .where(reports.c.receipt_params.is_(None))
        .values(receipt_params=encoded)
    )


def downgrade() -> None:
    op.drop_index('ix_reports_receipt_params', table_name='reports')
    with op.batch_alter_table('reports') as batch:
        batch.drop_column('receipt_params')
    with op.batch_alter_table('key_wraps') as batch:
        batch.drop_column('escrow_key')
    op.drop_table('partners')
