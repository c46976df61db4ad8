"""held access

Which reports a reset account could open (ids only), so the escrow rewrap
restores exactly that access.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'held_access',
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column(
            'report_id',
            sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ['account_id'], ['accounts.id'],
            name=op.f('fk_held_access_account_id_accounts'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['report_id'], ['reports.id'],
            name=op.f('fk_held_access_report_id_reports'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('account_id', 'report_id', name=op.f('pk_held_access')),
    )
    op.create_index(op.f('ix_held_access_report_id'), 'held_access', ['report_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_held_access_report_id'), table_name='held_access')
    op.drop_table('held_access')
