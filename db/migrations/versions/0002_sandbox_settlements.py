"""sandbox settlements: the simulated bank's memory

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 06:40:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel

revision: str = '0002'
down_revision: Union[str, None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Written by hand. Outside the domain's tables: no foreign keys to refunds, as a real bank
    # would not share our keys either.
    op.create_table('sandbox_settlements',
    sa.Column('idempotency_key', sa.Text(), nullable=False),
    sa.Column('refund_id', sa.Uuid(), nullable=False),
    sa.Column('merchant_id', sa.Uuid(), nullable=False),
    sa.Column('calls', sa.Integer(), server_default='0', nullable=False),
    sa.Column('transient_errors_left', sa.Integer(), server_default='0', nullable=False),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('code', sa.Text(), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('bank_reference', sa.Text(), nullable=True),
    sa.Column('speed', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('returns_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('return_leased_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('return_acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('idempotency_key', name=op.f('pk_sandbox_settlements'))
    )
    op.create_index('ix_sandbox_settlements_returns_due', 'sandbox_settlements', ['returns_at'], unique=False, postgresql_where=sa.text('returns_at IS NOT NULL AND return_acknowledged_at IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_sandbox_settlements_returns_due', table_name='sandbox_settlements', postgresql_where=sa.text('returns_at IS NOT NULL AND return_acknowledged_at IS NULL'))
    op.drop_table('sandbox_settlements')
