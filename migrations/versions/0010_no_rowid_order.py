"""no rowid order

On SQLite, the tables keyed by (report id, something) that a submitter's
action writes (sealed_fields, report_violations, report_flags) become
WITHOUT ROWID tables.  Their composite primary keys left them with SQLite's
hidden rowid, which counts up (largest + 1) and orders the table b-tree: a
seized file listed reports in filing order and put a report's rows between
rows staff wrote, whose times the audit log keeps (promise 12).  A WITHOUT
ROWID table stores its rows in primary-key order, which leads with the
report's random id (0007).

SQLite cannot change a table to WITHOUT ROWID in place, so each table is
rebuilt: create the new table under a temporary name, copy the rows in, drop
the old table, rename, recreate the index.  Not with Alembic's batch mode:
it copies with a plain ``INSERT … SELECT``, which reads the old table in
rowid (filing) order, and the new table would then allocate the pages that
hold long values (a narrative's overflow pages) in that same order.  Here
the rows are copied in primary-key order, so nothing in the new file
follows the old order.  ``secure_delete`` (registry.db) zeroes the old
table's pages as it is dropped.

The other tables on SQLite: reports, key_wraps, messages and attachments
have random INTEGER primary keys, which are their rowids (0007); no table
uses AUTOINCREMENT, so there is no ``sqlite_sequence`` counter.  The
remaining rowid tables hold rows only staff, the system or the reference
data create.

PostgreSQL: nothing to do (it has no rowids; what its ``xmin`` and heap
order still tell is in README.md).

Downgrade rebuilds the three tables with rowids again, also copied in
primary-key order.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

REBUILT = ('sealed_fields', 'report_violations', 'report_flags')
TEMPORARY = '_0010_{}'


def _columns(table: str) -> list[sa.Column[object]]:
    """The columns of ``table`` at revision 0009 (0001 and 0003; SQLite spelling)."""
    if table == 'sealed_fields':
        return [
            sa.Column('report_id', sa.Integer(), nullable=False),
            sa.Column('name', sa.String(length=32), nullable=False),
            sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
        ]
    return [
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
    ]


def _key(table: str) -> tuple[str, str]:
    return ('report_id', 'name') if table == 'sealed_fields' else ('report_id', 'code')


def _rebuild(table: str, *, with_rowid: bool) -> None:
    temporary = TEMPORARY.format(table)
    key = _key(table)
    columns = _columns(table)
    # Constraint names as the naming convention gives them for the final
    # table name, so the schema matches the models after the rename.
    op.create_table(
        temporary,
        *columns,
        sa.ForeignKeyConstraint(
            ['report_id'],
            ['reports.id'],
            name=op.f(f'fk_{table}_report_id_reports'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint(*key, name=op.f(f'pk_{table}')),
        sqlite_with_rowid=with_rowid,
    )
    names = ', '.join(column.name for column in columns)
    # WHY ORDER BY the key: rows (and the overflow pages of long values) are
    # then written in random report-id order, not in the old filing order.
    op.execute(
        f'INSERT INTO {temporary} ({names}) '
        f'SELECT {names} FROM {table} ORDER BY {", ".join(key)}'
    )
    op.drop_table(table)
    op.rename_table(temporary, table)
    if table != 'sealed_fields':
        op.create_index(op.f(f'ix_{table}_code'), table, ['code'], unique=False)


def _sqlite() -> bool:
    return op.get_context().dialect.name == 'sqlite'


def upgrade() -> None:
    if _sqlite():
        for table in REBUILT:
            _rebuild(table, with_rowid=False)


def downgrade() -> None:
    if _sqlite():
        for table in reversed(REBUILT):
            _rebuild(table, with_rowid=True)
