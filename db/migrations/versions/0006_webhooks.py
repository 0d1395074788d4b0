"""webhooks: merchants' endpoints and the outbox of deliveries

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 15:45:00.000000
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0006'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

EVENT_TYPES = (
    "'REFUND_CREATED', 'REFUND_ON_HOLD', 'REFUND_PENDING', 'REFUND_PROCESSING', "
    "'REFUND_PROCESSED', 'REFUND_FAILED', 'REFUND_ACTION_REQUIRED', 'REFUND_CANCELLED', "
    "'REFUND_REVERSED'"
)


def upgrade() -> None:
    op.create_table(
        'webhook_endpoints',
        sa.Column('merchant_id', sa.Uuid(), nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('enabled_events', postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column('status', sa.Text(), nullable=False),
        sa.Column('secret', sa.Text(), nullable=False),
        sa.Column('old_secret', sa.Text(), nullable=True),
        sa.Column('old_secret_expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('failing_since', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint("status IN ('ENABLED', 'DISABLED')", name=op.f('ck_webhook_endpoints_status_known')),
        sa.CheckConstraint('length(url) BETWEEN 1 AND 2048', name=op.f('ck_webhook_endpoints_url_length')),
        sa.CheckConstraint('cardinality(enabled_events) > 0', name=op.f('ck_webhook_endpoints_some_events')),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_webhook_endpoints_merchant_id_merchants')),
        sa.PrimaryKeyConstraint('merchant_id', 'id', name=op.f('pk_webhook_endpoints')),
    )
    op.create_table(
        'webhook_deliveries',
        sa.Column('merchant_id', sa.Uuid(), nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('endpoint_id', sa.Uuid(), nullable=False),
        sa.Column('event_id', sa.Text(), nullable=False),
        sa.Column('event_type', sa.Text(), nullable=False),
        sa.Column('refund_id', sa.Uuid(), nullable=False),
        sa.Column('refund_event_id', sa.BigInteger(), nullable=False),
        sa.Column('status', sa.Text(), server_default='PENDING', nullable=False),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('last_response_status', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('claimed_by', sa.Text(), nullable=True),
        sa.Column('claim_expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('PENDING', 'SUCCEEDED', 'RETRYING', 'FAILED')", name=op.f('ck_webhook_deliveries_status_known')),
        sa.CheckConstraint(f"event_type IN ({EVENT_TYPES})", name=op.f('ck_webhook_deliveries_event_type_known')),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_webhook_deliveries_merchant_id_merchants')),
        sa.ForeignKeyConstraint(
            ['merchant_id', 'endpoint_id'], ['webhook_endpoints.merchant_id', 'webhook_endpoints.id'],
            name='fk_webhook_deliveries_endpoint_id_webhook_endpoints', ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['merchant_id', 'refund_id'], ['refunds.merchant_id', 'refunds.id'],
            name='fk_webhook_deliveries_refund_id_refunds',
        ),
        sa.PrimaryKeyConstraint('merchant_id', 'id', name=op.f('pk_webhook_deliveries')),
    )
    op.create_index(
        'ix_webhook_deliveries_due', 'webhook_deliveries', ['merchant_id', 'next_attempt_at'],
        postgresql_where=sa.text("status IN ('PENDING', 'RETRYING')"),
    )
    op.create_index(
        'ix_webhook_deliveries_refund', 'webhook_deliveries',
        ['merchant_id', 'endpoint_id', 'refund_id', 'refund_event_id'],
    )
    op.create_index(
        'ix_webhook_deliveries_endpoint_newest', 'webhook_deliveries',
        ['merchant_id', 'endpoint_id', sa.text('created_at DESC'), sa.text('id DESC')],
    )


def downgrade() -> None:
    op.drop_table('webhook_deliveries')
    op.drop_table('webhook_endpoints')
