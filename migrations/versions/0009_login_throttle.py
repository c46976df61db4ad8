"""login throttle

Failed staff logins counted in the database, shared by every worker:
per typed email and per account's second factor, keyed by an HMAC.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'login_throttles',
        sa.Column('ref', sa.LargeBinary(), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('blocked_until', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('ref', name=op.f('pk_login_throttles')),
    )
    op.create_index(
        op.f('ix_login_throttles_last_failure_at'), 'login_throttles', ['last_failure_at']
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_login_throttles_last_failure_at'), table_name='login_throttles')
    op.drop_table('login_throttles')
