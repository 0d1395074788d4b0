"""distributable by merchant

Every merchant-owned table leads its primary key, its unique indexes and its foreign keys with
merchant_id, as Citus requires of tables distributed by that column (docs/scaling.md):
transactions, refunds and refund_events are keyed (merchant_id, id); a refund names its
transaction, and an event, a ledger entry and an idempotency key name their refund, by
(merchant_id, id). The indexes behind lookups by transaction or refund, the unique
(refund, kind) of the ledger and the processor's queue lead with merchant_id too.

A key's hash moves from api_keys into api_key_routes (hash -> merchant, key), a platform-wide
table: a request names its key only, and a unique index on the hash alone cannot live in a table
distributed by merchant. Existing keys keep working: their hashes are copied over.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 10:00:00.000000
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# (table, column, referred table): references between one merchant's rows.
_REFERENCES = [
    ('refunds', 'transaction_id', 'transactions'),
    ('refund_events', 'refund_id', 'refunds'),
    ('ledger_entries', 'refund_id', 'refunds'),
    ('idempotency_keys', 'refund_id', 'refunds'),
]
_KEYED_BY_ID = ['transactions', 'refunds', 'refund_events']
_DUE = sa.text("status IN ('PENDING', 'PROCESSING')")
_REFUND_ENTRY = sa.text('refund_id IS NOT NULL')


def upgrade() -> None:
    _route_keys_by_hash()
    for table, column, referred in _REFERENCES:
        op.drop_constraint(f'fk_{table}_{column}_{referred}', table, type_='foreignkey')
    for table in _KEYED_BY_ID:
        op.drop_constraint(f'pk_{table}', table, type_='primary')
        op.create_primary_key(f'pk_{table}', table, ['merchant_id', 'id'])
    for table, column, referred in _REFERENCES:
        op.create_foreign_key(
            f'fk_{table}_{column}_{referred}', table, referred,
            ['merchant_id', column], ['merchant_id', 'id'],
        )
    _index_by_merchant(lead=['merchant_id'])


def _route_keys_by_hash() -> None:
    op.create_table(
        'api_key_routes',
        sa.Column('key_hash', sa.Text(), nullable=False),
        sa.Column('merchant_id', sa.Uuid(), nullable=False),
        sa.Column('key_id', sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint('key_hash', name=op.f('pk_api_key_routes')),
    )
    op.execute(
        'INSERT INTO api_key_routes (key_hash, merchant_id, key_id) '
        'SELECT key_hash, merchant_id, id FROM api_keys'
    )
    op.drop_constraint('uq_api_keys_key_hash', 'api_keys', type_='unique')
    op.drop_column('api_keys', 'key_hash')


def _index_by_merchant(lead: list[str]) -> None:
    """(Re)create the indexes that lead with merchant_id after 0005 (`lead` empty: as before)."""
    for name, table in [
        ('ix_refunds_transaction', 'refunds'),
        ('ix_refund_events_refund', 'refund_events'),
        ('ix_refunds_due', 'refunds'),
        ('uq_ledger_entries_refund_kind', 'ledger_entries'),
    ]:
        op.drop_index(name, table_name=table)
    op.create_index('ix_refunds_transaction', 'refunds', [*lead, 'transaction_id'])
    op.create_index('ix_refund_events_refund', 'refund_events', [*lead, 'refund_id', 'id'])
    op.create_index(
        'ix_refunds_due', 'refunds', [*lead, 'next_attempt_at'], postgresql_where=_DUE
    )
    op.create_index(
        'uq_ledger_entries_refund_kind', 'ledger_entries', [*lead, 'refund_id', 'kind'],
        unique=True, postgresql_where=_REFUND_ENTRY,
    )


def downgrade() -> None:
    _index_by_merchant(lead=[])
    for table, column, referred in _REFERENCES:
        op.drop_constraint(f'fk_{table}_{column}_{referred}', table, type_='foreignkey')
    for table in _KEYED_BY_ID:
        op.drop_constraint(f'pk_{table}', table, type_='primary')
        op.create_primary_key(f'pk_{table}', table, ['id'])
    for table, column, referred in _REFERENCES:
        op.create_foreign_key(f'fk_{table}_{column}_{referred}', table, referred, [column], ['id'])
    op.add_column('api_keys', sa.Column('key_hash', sa.Text(), nullable=True))
    op.execute(
        'UPDATE api_keys SET key_hash = r.key_hash FROM api_key_routes AS r '
        'WHERE api_keys.merchant_id = r.merchant_id AND api_keys.id = r.key_id'
    )
    op.alter_column('api_keys', 'key_hash', nullable=False)
    op.create_unique_constraint('uq_api_keys_key_hash', 'api_keys', ['key_hash'])
    op.drop_table('api_key_routes')
