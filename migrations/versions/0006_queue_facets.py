"""queue facets

Covering indexes for the reviewer queue's filters, facet counts and sorts:
one per filterable column, leading with it and then (received_on, id), each
carrying the other facet columns; one by id for the violation and proposal
filters; one by incident month for sorting.  They replace the narrower
queue indexes of 0001 (and the plain assignee index).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reports_assignee_id'))
        batch_op.drop_index(batch_op.f('ix_reports_received'))
        batch_op.create_index('ix_reports_received', ['received_on', 'id', 'status', 'region', 'urgent', 'language', 'assignee_id', 'place', 'unit'], unique=False)
        batch_op.drop_index(batch_op.f('ix_reports_region_received'))
        batch_op.create_index('ix_reports_region_received', ['region', 'received_on', 'id', 'status', 'urgent', 'language', 'assignee_id', 'place', 'unit'], unique=False)
        batch_op.drop_index(batch_op.f('ix_reports_status_received'))
        batch_op.create_index('ix_reports_status_received', ['status', 'received_on', 'id', 'region', 'urgent', 'language', 'assignee_id', 'place', 'unit'], unique=False)
        batch_op.drop_index(batch_op.f('ix_reports_status_region_received'))
        batch_op.create_index('ix_reports_status_region_received', ['status', 'region', 'received_on', 'id', 'urgent', 'language', 'assignee_id', 'place', 'unit'], unique=False)
        batch_op.create_index('ix_reports_assignee_received', ['assignee_id', 'received_on', 'id', 'status', 'region', 'urgent', 'language', 'place', 'unit'], unique=False)
        batch_op.create_index('ix_reports_by_id', ['id', 'received_on', 'status', 'region', 'urgent', 'language', 'assignee_id', 'place', 'unit'], unique=False)
        batch_op.create_index('ix_reports_language_received', ['language', 'received_on', 'id', 'status', 'region', 'urgent', 'assignee_id', 'place', 'unit'], unique=False)
        batch_op.create_index('ix_reports_month', ['incident_month', 'id'], unique=False)
        batch_op.create_index('ix_reports_place_received', ['place', 'received_on', 'id', 'status', 'region', 'urgent', 'language', 'assignee_id', 'unit'], unique=False)
        batch_op.create_index('ix_reports_unit_received', ['unit', 'received_on', 'id', 'status', 'region', 'urgent', 'language', 'assignee_id', 'place'], unique=False)
        batch_op.create_index('ix_reports_urgent_received', ['urgent', 'received_on', 'id', 'status', 'region', 'language', 'assignee_id', 'place', 'unit'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ix_reports_urgent_received')
        batch_op.drop_index('ix_reports_unit_received')
        batch_op.drop_index('ix_reports_place_received')
        batch_op.drop_index('ix_reports_month')
        batch_op.drop_index('ix_reports_language_received')
        batch_op.drop_index('ix_reports_by_id')
        batch_op.drop_index('ix_reports_assignee_received')
        batch_op.drop_index('ix_reports_status_region_received')
        batch_op.create_index(batch_op.f('ix_reports_status_region_received'), ['status', 'region', 'received_on', 'id'], unique=False)
        batch_op.drop_index('ix_reports_status_received')
        batch_op.create_index(batch_op.f('ix_reports_status_received'), ['status', 'received_on', 'id'], unique=False)
        batch_op.drop_index('ix_reports_region_received')
        batch_op.create_index(batch_op.f('ix_reports_region_received'), ['region', 'received_on', 'id'], unique=False)
        batch_op.drop_index('ix_reports_received')
        batch_op.create_index(batch_op.f('ix_reports_received'), ['received_on', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_assignee_id'), ['assignee_id'], unique=False)
