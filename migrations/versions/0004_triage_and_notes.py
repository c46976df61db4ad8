"""triage and notes

Queue indexes, triage columns and notes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=16), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['accounts.id'], name=op.f('fk_notes_author_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_notes_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notes')),
    sa.UniqueConstraint('public_id', name=op.f('uq_notes_public_id'))
    )
    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notes_report_id'), ['report_id'], unique=False)

    # Queue indexes: newest first under the common filters (see models/reports.py).
    op.drop_index('ix_reports_queue', table_name='reports')
    op.drop_index('ix_reports_region', table_name='reports')
    op.create_index('ix_reports_received', 'reports', ['received_on', 'id'])
    op.create_index('ix_reports_status_received', 'reports', ['status', 'received_on', 'id'])
    op.create_index('ix_reports_region_received', 'reports', ['region', 'received_on', 'id'])
    op.create_index(
        'ix_reports_status_region_received', 'reports', ['status', 'region', 'received_on', 'id']
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disposition', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('assignee_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_reports_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_reports_assignee_id_accounts'), 'accounts', ['assignee_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_reports_assignee_id_accounts'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_reports_assignee_id'))
        batch_op.drop_column('assignee_id')
        batch_op.drop_column('disposition')

    for name in ('ix_reports_received', 'ix_reports_status_received',
                 'ix_reports_region_received', 'ix_reports_status_region_received'):
        op.drop_index(name, table_name='reports')
    op.create_index('ix_reports_queue', 'reports', ['status', 'received_on'])
    op.create_index('ix_reports_region', 'reports', ['region'])

    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notes_report_id'))

    op.drop_table('notes')
