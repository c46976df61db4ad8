"""evidence

Published evidence (issue 11): ``evidence_snapshots`` (protected figures,
frozen at publication), ``case_summaries`` (a case's public summary, four
eyes) and ``snapshot_summaries`` (approved summaries as published in a
snapshot).  All plain: written to be published.  Row ids are random like
every other table's (0007).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# 64-bit on PostgreSQL for random ids; INTEGER (the rowid) on SQLite.
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'evidence_snapshots',
        sa.Column('id', ROW_ID, nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('published_on', sa.Date(), nullable=False),
        sa.Column('k', sa.Integer(), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('published_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['published_by'], ['accounts.id'],
            name=op.f('fk_evidence_snapshots_published_by_accounts'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_snapshots')),
        sa.UniqueConstraint('number', name=op.f('uq_evidence_snapshots_number')),
    )
    op.create_table(
        'case_summaries',
        sa.Column('id', ROW_ID, nullable=False),
        sa.Column('report_id', ROW_ID, nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('written_by', sa.Integer(), nullable=True),
        sa.Column('written_on', sa.Date(), nullable=False),
        sa.Column('approved_by', sa.Integer(), nullable=True),
        sa.Column('approved_on', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ['report_id'], ['reports.id'],
            name=op.f('fk_case_summaries_report_id_reports'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['written_by'], ['accounts.id'],
            name=op.f('fk_case_summaries_written_by_accounts'), ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['approved_by'], ['accounts.id'],
            name=op.f('fk_case_summaries_approved_by_accounts'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_summaries')),
        sa.UniqueConstraint('report_id', name=op.f('uq_case_summaries_report_id')),
    )
    op.create_table(
        'snapshot_summaries',
        sa.Column('id', ROW_ID, nullable=False),
        sa.Column('snapshot_id', ROW_ID, nullable=False),
        sa.Column('report_id', ROW_ID, nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('region', sa.String(length=32), nullable=True),
        sa.Column('period', sa.String(length=7), nullable=False),
        sa.Column('proposals', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ['snapshot_id'], ['evidence_snapshots.id'],
            name=op.f('fk_snapshot_summaries_snapshot_id_evidence_snapshots'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['report_id'], ['reports.id'],
            name=op.f('fk_snapshot_summaries_report_id_reports'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_snapshot_summaries')),
        sa.UniqueConstraint(
            'snapshot_id', 'report_id', name=op.f('uq_snapshot_summaries_snapshot_id')
        ),
    )
    op.create_index(
        op.f('ix_snapshot_summaries_report_id'), 'snapshot_summaries', ['report_id']
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_snapshot_summaries_report_id'), table_name='snapshot_summaries')
    op.drop_table('snapshot_summaries')
    op.drop_table('case_summaries')
    op.drop_table('evidence_snapshots')
