"""submitter journey

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=16), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('blob', sa.String(length=64), nullable=False),
    sa.Column('sealed_key', sa.LargeBinary(), nullable=False),
    sa.Column('sealed_meta', sa.LargeBinary(), nullable=False),
    sa.Column('added_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_attachments_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments')),
    sa.UniqueConstraint('blob', name=op.f('uq_attachments_blob')),
    sa.UniqueConstraint('public_id', name=op.f('uq_attachments_public_id'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_report_id'), ['report_id'], unique=False)

    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=16), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('staff_copy', sa.LargeBinary(), nullable=False),
    sa.Column('submitter_copy', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['accounts.id'], name=op.f('fk_messages_author_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_messages_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('public_id', name=op.f('uq_messages_public_id'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_messages_report_id'), ['report_id'], unique=False)

    op.create_table('report_flags',
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_flags_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id', 'code', name=op.f('pk_report_flags'))
    )
    with op.batch_alter_table('report_flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_flags_code'), ['code'], unique=False)

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('place', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('unit', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('reporter_role', sa.String(length=16), nullable=True))
        # Server defaults only fill rows that predate this revision (none in
        # any deployment yet): such reports have no inbox key.
        batch_op.add_column(sa.Column('inbox_public_key', sa.LargeBinary(), nullable=False, server_default=sa.text("''")))
        batch_op.add_column(sa.Column('consent_contact', sa.String(length=16), nullable=False, server_default='receipt'))
        batch_op.add_column(sa.Column('consent_publish', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('consent_refer', sa.Boolean(), nullable=False, server_default=sa.false()))



def downgrade() -> None:
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_report_id'))

    op.drop_table('attachments')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_column('consent_refer')
        batch_op.drop_column('consent_publish')
        batch_op.drop_column('consent_contact')
        batch_op.drop_column('inbox_public_key')
        batch_op.drop_column('reporter_role')
        batch_op.drop_column('unit')
        batch_op.drop_column('place')

    with op.batch_alter_table('report_flags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_flags_code'))

    op.drop_table('report_flags')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_messages_report_id'))

    op.drop_table('messages')
