"""opaque ledger ids and masked sources

Ledger entries are numbered per merchant (primary key (merchant_id, id), the next number kept
in merchants.ledger_seq), so that an entry's id no longer counts every merchant's entries.
Existing entries are renumbered 1, 2, 3… within their merchant in the order they were written.

Card numbers already stored in a transaction's source, and in the display of refunds paid back
to that source, are masked as new ones are (domain/cards.py). Masking cannot be undone: the
downgrade keeps the masked text.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 18:45:00.000000
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from domain.cards import PAN_MIN_DIGITS, mask_card_numbers

revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# Texts that may hold a card number: at least 12 digits, single spaces or dashes between them.
_MAY_HOLD_A_CARD = f"'[0-9]([ -]?[0-9]){{{PAN_MIN_DIGITS - 1}}}'"


def upgrade() -> None:
    _number_ledger_entries_per_merchant()
    _mask_stored_card_numbers()


def _number_ledger_entries_per_merchant() -> None:
    op.add_column(
        'merchants', sa.Column('ledger_seq', sa.BigInteger(), server_default='0', nullable=False)
    )
    op.drop_index('ix_ledger_entries_merchant_newest', table_name='ledger_entries')
    op.drop_constraint('pk_ledger_entries', 'ledger_entries', type_='primary')
    op.execute('ALTER TABLE ledger_entries ALTER COLUMN id DROP IDENTITY')
    op.execute(
        'UPDATE ledger_entries SET id = numbered.n FROM ('
        ' SELECT id AS platform_id,'
        ' row_number() OVER (PARTITION BY merchant_id ORDER BY id) AS n FROM ledger_entries'
        ') AS numbered WHERE ledger_entries.id = numbered.platform_id'
    )
    op.create_primary_key('pk_ledger_entries', 'ledger_entries', ['merchant_id', 'id'])
    op.execute(
        'UPDATE merchants SET ledger_seq = newest.id FROM ('
        ' SELECT merchant_id, max(id) AS id FROM ledger_entries GROUP BY merchant_id'
        ') AS newest WHERE merchants.id = newest.merchant_id'
    )


def _mask_stored_card_numbers() -> None:
    conn = op.get_bind()
    _mask_column(conn, 'transactions', 'source', '')
    _mask_column(conn, 'refunds', 'destination_display', "destination_kind = 'ORIGINAL_SOURCE' AND")


def _mask_column(conn: sa.Connection, table: str, column: str, where: str) -> None:
    found = conn.execute(
        sa.text(
            f'SELECT merchant_id, id, {column} AS text FROM {table} '
            f'WHERE {where} {column} ~ {_MAY_HOLD_A_CARD}'
        )
    ).all()
    update = sa.text(f'UPDATE {table} SET {column} = :text WHERE merchant_id = :m AND id = :id')
    for row in found:
        masked = mask_card_numbers(row.text)
        if masked != row.text:
            conn.execute(update, {'text': masked, 'm': row.merchant_id, 'id': row.id})


def downgrade() -> None:
    op.drop_constraint('pk_ledger_entries', 'ledger_entries', type_='primary')
    # One platform-wide numbering again, in the order the entries were written.
    op.execute(
        'UPDATE ledger_entries SET id = numbered.n FROM ('
        ' SELECT merchant_id, id AS merchant_entry,'
        ' row_number() OVER (ORDER BY created_at, merchant_id, id) AS n FROM ledger_entries'
        ') AS numbered WHERE ledger_entries.merchant_id = numbered.merchant_id'
        ' AND ledger_entries.id = numbered.merchant_entry'
    )
    op.create_primary_key('pk_ledger_entries', 'ledger_entries', ['id'])
    op.execute('ALTER TABLE ledger_entries ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY')
    op.execute(
        "SELECT setval(pg_get_serial_sequence('ledger_entries', 'id'),"
        ' (SELECT coalesce(max(id), 0) + 1 FROM ledger_entries), false)'
    )
    op.create_index(
        'ix_ledger_entries_merchant_newest',
        'ledger_entries',
        ['merchant_id', sa.literal_column('id DESC')],
        unique=False,
    )
    op.drop_column('merchants', 'ledger_seq')
