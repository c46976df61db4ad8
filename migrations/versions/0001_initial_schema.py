"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('public_key', sa.LargeBinary(), nullable=True),
    sa.Column('locked_private_key', sa.LargeBinary(), nullable=True),
    sa.Column('sealed_totp_secret', sa.LargeBinary(), nullable=True),
    sa.Column('totp_last_step', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('email', name=op.f('uq_accounts_email'))
    )
    op.create_table('reform_blocks',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('title_be', sa.String(length=200), nullable=False),
    sa.Column('title_ru', sa.String(length=200), nullable=False),
    sa.Column('title_en', sa.String(length=200), nullable=False),
    sa.Column('description_be', sa.Text(), nullable=False),
    sa.Column('description_ru', sa.Text(), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_reform_blocks'))
    )
    op.create_table('reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('incident_month', sa.String(length=7), nullable=True),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('lookup_id', sa.LargeBinary(), nullable=False),
    sa.Column('submitter_public_key', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    sa.UniqueConstraint('lookup_id', name=op.f('uq_reports_lookup_id')),
    sa.UniqueConstraint('public_id', name=op.f('uq_reports_public_id'))
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index('ix_reports_queue', ['status', 'received_on'], unique=False)
        batch_op.create_index('ix_reports_region', ['region'], unique=False)

    op.create_table('vocabulary_terms',
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('title_be', sa.String(length=200), nullable=False),
    sa.Column('title_ru', sa.String(length=200), nullable=False),
    sa.Column('title_en', sa.String(length=200), nullable=False),
    sa.Column('description_be', sa.Text(), nullable=False),
    sa.Column('description_ru', sa.Text(), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'code', name=op.f('pk_vocabulary_terms'))
    )
    op.create_table('invites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.LargeBinary(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_invites_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invites')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_invites_token_hash'))
    )
    op.create_table('key_wraps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('escrow', sa.Boolean(), nullable=False),
    sa.Column('wrapped', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_key_wraps_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_key_wraps_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_key_wraps')),
    sa.UniqueConstraint('report_id', 'account_id', 'escrow', name=op.f('uq_key_wraps_report_id'))
    )
    with op.batch_alter_table('key_wraps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_key_wraps_account_id'), ['account_id'], unique=False)

    op.create_table('reform_themes',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('block_code', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('title_be', sa.String(length=200), nullable=False),
    sa.Column('title_ru', sa.String(length=200), nullable=False),
    sa.Column('title_en', sa.String(length=200), nullable=False),
    sa.Column('description_be', sa.Text(), nullable=False),
    sa.Column('description_ru', sa.Text(), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['block_code'], ['reform_blocks.code'], name=op.f('fk_reform_themes_block_code_reform_blocks')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_reform_themes'))
    )
    op.create_table('report_violations',
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_violations_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id', 'code', name=op.f('pk_report_violations'))
    )
    with op.batch_alter_table('report_violations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_violations_code'), ['code'], unique=False)

    op.create_table('sealed_fields',
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_sealed_fields_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id', 'name', name=op.f('pk_sealed_fields'))
    )
    op.create_table('staff_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.LargeBinary(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('sealed_private_key', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_staff_sessions_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_sessions')),
    sa.UniqueConstraint('ref', name=op.f('uq_staff_sessions_ref'))
    )
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_sessions_account_id'), ['account_id'], unique=False)

    op.create_table('reform_proposals',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('theme_code', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('standards', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('title_be', sa.String(length=200), nullable=False),
    sa.Column('title_ru', sa.String(length=200), nullable=False),
    sa.Column('title_en', sa.String(length=200), nullable=False),
    sa.Column('description_be', sa.Text(), nullable=False),
    sa.Column('description_ru', sa.Text(), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['theme_code'], ['reform_themes.code'], name=op.f('fk_reform_proposals_theme_code_reform_themes')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_reform_proposals'))
    )
    op.create_table('case_mappings',
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('proposal_code', sa.String(length=32), nullable=False),
    sa.Column('strength', sa.String(length=16), nullable=False),
    sa.Column('sealed_rationale', sa.LargeBinary(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['accounts.id'], name=op.f('fk_case_mappings_created_by_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['proposal_code'], ['reform_proposals.code'], name=op.f('fk_case_mappings_proposal_code_reform_proposals')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_case_mappings_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id', 'proposal_code', name=op.f('pk_case_mappings'))
    )
    with op.batch_alter_table('case_mappings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_mappings_proposal_code'), ['proposal_code'], unique=False)

    


def downgrade() -> None:
    
    with op.batch_alter_table('case_mappings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_mappings_proposal_code'))

    op.drop_table('case_mappings')
    op.drop_table('reform_proposals')
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_sessions_account_id'))

    op.drop_table('staff_sessions')
    op.drop_table('sealed_fields')
    with op.batch_alter_table('report_violations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_violations_code'))

    op.drop_table('report_violations')
    op.drop_table('reform_themes')
    with op.batch_alter_table('key_wraps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_key_wraps_account_id'))

    op.drop_table('key_wraps')
    op.drop_table('invites')
    op.drop_table('vocabulary_terms')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ix_reports_region')
        batch_op.drop_index('ix_reports_queue')

    op.drop_table('reports')
    op.drop_table('reform_blocks')
    op.drop_table('accounts')
    
