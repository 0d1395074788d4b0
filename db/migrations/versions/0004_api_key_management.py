"""API key management: named keys with a scope and a last use, and who initiated each refund

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-02 18:45:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Written by hand. Existing keys become FULL keys named "Default" (the server defaults).
    op.add_column('api_keys', sa.Column('name', sa.Text(), server_default='Default', nullable=False))
    op.add_column('api_keys', sa.Column('scope', sa.Text(), server_default='FULL', nullable=False))
    op.add_column('api_keys', sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(op.f('ck_api_keys_scope_known'), 'api_keys', "scope IN ('FULL', 'READ_ONLY')")
    op.create_check_constraint(op.f('ck_api_keys_name_length'), 'api_keys', 'length(name) BETWEEN 1 AND 100')
    # The merchant leads the key (as everywhere a merchant owns rows), so that a refund's
    # foreign key can name (merchant_id, key id) and never point at another merchant's key.
    op.drop_constraint(op.f('pk_api_keys'), 'api_keys', type_='primary')
    op.create_primary_key(op.f('pk_api_keys'), 'api_keys', ['merchant_id', 'id'])
    op.add_column('refunds', sa.Column('initiated_by_key_id', sa.Uuid(), nullable=True))
    op.create_foreign_key(
        'fk_refunds_initiated_by_key_api_keys', 'refunds', 'api_keys',
        ['merchant_id', 'initiated_by_key_id'], ['merchant_id', 'id'],
    )


def downgrade() -> None:
    op.drop_constraint('fk_refunds_initiated_by_key_api_keys', 'refunds', type_='foreignkey')
    op.drop_column('refunds', 'initiated_by_key_id')
    op.drop_constraint(op.f('pk_api_keys'), 'api_keys', type_='primary')
    op.create_primary_key(op.f('pk_api_keys'), 'api_keys', ['id'])
    op.drop_constraint(op.f('ck_api_keys_name_length'), 'api_keys', type_='check')
    op.drop_constraint(op.f('ck_api_keys_scope_known'), 'api_keys', type_='check')
    op.drop_column('api_keys', 'last_used_at')
    op.drop_column('api_keys', 'scope')
    op.drop_column('api_keys', 'name')
