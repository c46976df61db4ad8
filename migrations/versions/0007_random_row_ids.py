"""random row ids

Reports, key wraps, messages and attachments get random 62-bit primary keys
from the application (registry.models.base.random_row_id): sequential ids
interleaved rows a submitter creates with rows staff create, whose times
the audit log keeps, and so dated the submitter's actions (promise 3).

- PostgreSQL: those four ids and every column referring to reports.id
  become BIGINT (one table rewrite each); the four serial defaults and
  their sequences are dropped (nothing may hand out counting ids any more,
  and a sequence's last value would keep counting rows).
- SQLite: no type change.  INTEGER PRIMARY KEY is the 64-bit rowid already
  and must stay spelled INTEGER to remain it.
- Both: messages and attachments get ``seq``, their position within the
  report (conversation and upload order no longer follow the id), filled
  for existing rows in id order, then NOT NULL and unique per report.  On
  SQLite that is a batch (copy-and-move) alter of these two tables only;
  audit_events is never batch-altered, which would drop its triggers.

Existing rows keep their (sequential) ids: renumbering reports would mean
rewriting every referring column, and no deployment holds real reports yet.

Downgrade drops ``seq`` and, on PostgreSQL, gives the four ids serial
defaults again (sequences started past the largest id) but keeps BIGINT:
random ids already stored do not fit INTEGER, and 0006's code reads BIGINT
just as well.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# Tables whose primary key becomes random.
RANDOM_IDS = ('reports', 'key_wraps', 'messages', 'attachments')
# Columns that widen to BIGINT on PostgreSQL, by table.
WIDENED = {
    'reports': ('id',),
    'key_wraps': ('id', 'report_id'),
    'messages': ('id', 'report_id'),
    'attachments': ('id', 'report_id'),
    'sealed_fields': ('report_id',),
    'report_violations': ('report_id',),
    'report_flags': ('report_id',),
    'notes': ('report_id',),
    'case_mappings': ('report_id',),
    'report_links': ('report_id', 'other_id'),
}
# Tables that get a per-report position.
POSITIONED = ('messages', 'attachments')


def _postgresql() -> bool:
    # From the context, not a connection: works for ``upgrade --sql`` too.
    return op.get_context().dialect.name == 'postgresql'


def upgrade() -> None:
    if _postgresql():
        for table, columns in WIDENED.items():
            # One ALTER per table, so each table is rewritten once.
            op.execute(
                f'ALTER TABLE {table} '
                + ', '.join(f'ALTER COLUMN {column} TYPE BIGINT' for column in columns)
            )
        for table in RANDOM_IDS:
            # 0001 and 0003 made these ids SERIAL: sequences named <table>_id_seq.
            op.execute(f'ALTER TABLE {table} ALTER COLUMN id DROP DEFAULT')
            op.execute(f'DROP SEQUENCE IF EXISTS {table}_id_seq')

    for table in POSITIONED:
        op.add_column(table, sa.Column('seq', sa.Integer(), nullable=True))
        # Existing rows in id order: ids were sequential until this revision.
        op.execute(
            f'UPDATE {table} SET seq = ('
            f'SELECT count(*) FROM {table} AS earlier '
            f'WHERE earlier.report_id = {table}.report_id AND earlier.id <= {table}.id)'
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('seq', existing_type=sa.Integer(), nullable=False)
            batch_op.create_unique_constraint(
                batch_op.f(f'uq_{table}_report_id'), ['report_id', 'seq']
            )


def downgrade() -> None:
    for table in reversed(POSITIONED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'uq_{table}_report_id'), type_='unique')
            batch_op.drop_column('seq')

    if _postgresql():
        for table in RANDOM_IDS:
            sequence = f'{table}_id_seq'
            op.execute(f'CREATE SEQUENCE {sequence} OWNED BY {table}.id')
            op.execute(
                f"SELECT setval('{sequence}', (SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
            op.execute(
                f"ALTER TABLE {table} ALTER COLUMN id SET DEFAULT nextval('{sequence}'::regclass)"
            )
