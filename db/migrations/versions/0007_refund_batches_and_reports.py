"""refund batches and reports: batches and their items, the merchant's time zone, the
refunds list's filter indexes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 17:50:00.000000
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


REASONS = (
    "'CUSTOMER_REQUEST', 'ORDER_CANCELLED', 'FAILED_TRANSACTION', 'DUPLICATE_PAYMENT', "
    "'PRODUCT_ISSUE', 'FRAUD', 'OTHER'"
)


def upgrade() -> None:
    op.add_column(
        'merchants',
        sa.Column('time_zone', sa.Text(), server_default='Asia/Kolkata', nullable=False),
    )
    op.create_table(
        'refund_batches',
        sa.Column('merchant_id', sa.Uuid(), nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('idempotency_key', sa.Text(), nullable=False),
        sa.Column('request_hash', sa.Text(), nullable=False),
        sa.Column('status', sa.Text(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('queue_if_insufficient_balance', sa.Boolean(), nullable=False),
        sa.Column('initiated_by_key_id', sa.Uuid(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('claimed_by', sa.Text(), nullable=True),
        sa.Column('claim_expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('RUNNING', 'COMPLETED', 'CANCELLED')", name=op.f('ck_refund_batches_status_known')),
        sa.CheckConstraint('total BETWEEN 1 AND 10000', name=op.f('ck_refund_batches_total_in_range')),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_refund_batches_merchant_id_merchants')),
        sa.ForeignKeyConstraint(
            ['merchant_id', 'initiated_by_key_id'], ['api_keys.merchant_id', 'api_keys.id'],
            name='fk_refund_batches_initiated_by_key_api_keys',
        ),
        sa.PrimaryKeyConstraint('merchant_id', 'id', name=op.f('pk_refund_batches')),
        sa.UniqueConstraint('merchant_id', 'idempotency_key', name='uq_refund_batches_merchant_key'),
    )
    op.create_index(
        'ix_refund_batches_merchant_newest', 'refund_batches',
        ['merchant_id', sa.text('created_at DESC'), sa.text('id DESC')],
    )
    op.create_index(
        'ix_refund_batches_due', 'refund_batches', ['merchant_id', 'next_attempt_at'],
        postgresql_where=sa.text("status = 'RUNNING'"),
    )
    op.create_table(
        'refund_batch_items',
        sa.Column('merchant_id', sa.Uuid(), nullable=False),
        sa.Column('batch_id', sa.Uuid(), nullable=False),
        sa.Column('index', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('lane', sa.Integer(), nullable=False),
        sa.Column('transaction', sa.Text(), nullable=True),
        sa.Column('transaction_id', sa.Uuid(), nullable=True),
        sa.Column('order_id', sa.Text(), nullable=True),
        sa.Column('amount', sa.BigInteger(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('speed', sa.Text(), nullable=False),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.Column('idempotency_key', sa.Text(), nullable=False),
        sa.Column('status', sa.Text(), nullable=False),
        sa.Column('refund_id', sa.Uuid(), nullable=True),
        sa.Column('error_code', sa.Text(), nullable=True),
        sa.Column('error_field', postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column('error_message', sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('PENDING', 'CREATED', 'REFUSED', 'CANCELLED')", name=op.f('ck_refund_batch_items_status_known')),
        sa.CheckConstraint(f"reason IN ({REASONS})", name=op.f('ck_refund_batch_items_reason_known')),
        sa.CheckConstraint("speed IN ('NORMAL', 'INSTANT')", name=op.f('ck_refund_batch_items_speed_known')),
        sa.CheckConstraint('(transaction IS NULL) <> (order_id IS NULL)', name=op.f('ck_refund_batch_items_one_payment')),
        sa.CheckConstraint('amount IS NULL OR amount > 0', name=op.f('ck_refund_batch_items_amount_positive')),
        sa.CheckConstraint("(status = 'CREATED') = (refund_id IS NOT NULL)", name=op.f('ck_refund_batch_items_created_refund')),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_refund_batch_items_merchant_id_merchants')),
        sa.ForeignKeyConstraint(
            ['merchant_id', 'batch_id'], ['refund_batches.merchant_id', 'refund_batches.id'],
            name='fk_refund_batch_items_batch_id_refund_batches',
        ),
        sa.ForeignKeyConstraint(
            ['merchant_id', 'refund_id'], ['refunds.merchant_id', 'refunds.id'],
            name='fk_refund_batch_items_refund_id_refunds',
        ),
        sa.PrimaryKeyConstraint('merchant_id', 'batch_id', 'index', name=op.f('pk_refund_batch_items')),
    )
    op.create_index(
        'ix_refund_batch_items_pending', 'refund_batch_items',
        ['merchant_id', 'batch_id', 'lane', 'index'],
        postgresql_where=sa.text("status = 'PENDING'"),
    )
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
    op.drop_table('refund_batch_items')
    op.drop_table('refund_batches')
    op.drop_column('merchants', 'time_zone')
    op.drop_index('ix_refunds_merchant_bank_reference', table_name='refunds')
    op.drop_index('ix_refunds_merchant_speed_newest', table_name='refunds')
    op.drop_index('ix_refunds_merchant_reason_newest', table_name='refunds')
