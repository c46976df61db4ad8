"""queue rows from indexes

The queue's table shows each report's public id and incident month besides
its facet columns; ``ix_reports_by_id`` (0006) held the latter only, so
every page read its 50 rows from the wide ``reports`` table (two public
keys of ~1.2 KB each): on PostgreSQL 50 heap pages per page, 6-13 ms until
they are cached.  With both columns in the index the rows are read from it
alone (an index-only scan on PostgreSQL, a covering index on SQLite).

``ix_reports_month`` gains the facet columns, as every other queue index
has them (0006): the month order with a filter (``region=…&sort=month``)
read a report row for every index entry to test the filter, 2-50 ms on
PostgreSQL for a page; now the index alone answers.

``ix_case_mappings_proposal_code`` gains the report id, so the reports of a
proposal are listed from the index alone, never from the mapping rows and
their sealed rationales; the queue lists them that way for a proposal few
cases support (registry.review.queue).

Plain key columns rather than PostgreSQL's ``INCLUDE``: the same index on
both databases, and nothing sealed is in any of them (public ids and
months are plain columns already, DESIGN §4).  Each index is rebuilt, which
takes well under a second at 100,000 reports and blocks writes to its
table meanwhile.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

FACETS = ['status', 'region', 'urgent', 'language', 'assignee_id', 'place', 'unit']
BY_ID_0006 = ['id', 'received_on', *FACETS]
BY_ID = [*BY_ID_0006, 'public_id', 'incident_month']
MONTH_0006 = ['incident_month', 'id']
MONTH = [*MONTH_0006, *FACETS]


def upgrade() -> None:
    op.drop_index('ix_reports_by_id', table_name='reports')
    op.create_index('ix_reports_by_id', 'reports', BY_ID)
    op.drop_index('ix_reports_month', table_name='reports')
    op.create_index('ix_reports_month', 'reports', MONTH)
    op.drop_index('ix_case_mappings_proposal_code', table_name='case_mappings')
    op.create_index(
        'ix_case_mappings_proposal_code', 'case_mappings', ['proposal_code', 'report_id']
    )


def downgrade() -> None:
    op.drop_index('ix_case_mappings_proposal_code', table_name='case_mappings')
    op.create_index('ix_case_mappings_proposal_code', 'case_mappings', ['proposal_code'])
    op.drop_index('ix_reports_month', table_name='reports')
    op.create_index('ix_reports_month', 'reports', MONTH_0006)
    op.drop_index('ix_reports_by_id', table_name='reports')
    op.create_index('ix_reports_by_id', 'reports', BY_ID_0006)
