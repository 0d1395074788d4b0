"""refund batches and reports: the refunds list's filter indexes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 17:50:00.000000
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index(
        'ix_refunds_merchant_reason_newest', 'refunds',
        ['merchant_id', 'reason', sa.text('created_at DESC'), sa.text('id DESC')],
    )
    op.create_index(
        'ix_refunds_merchant_speed_newest', 'refunds',
        ['merchant_id', 'speed_requested', sa.text('created_at DESC'), sa.text('id DESC')],
    )
    op.create_index(
        'ix_refunds_merchant_bank_reference', 'refunds', ['merchant_id', 'bank_reference'],
        postgresql_where=sa.text('bank_reference IS NOT NULL'),
    )


def downgrade() -> None:
    op.drop_index('ix_refunds_merchant_bank_reference', table_name='refunds')
    op.drop_index('ix_refunds_merchant_speed_newest', table_name='refunds')
    op.drop_index('ix_refunds_merchant_reason_newest', table_name='refunds')
