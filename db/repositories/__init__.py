"""The domain's ports (`domain/ports.py`) over one SQLAlchemy AsyncConnection.

Row locks are FOR NO KEY UPDATE (`with_for_update(key_share=True)`), not FOR UPDATE: every
insert that references a merchant or a transaction takes FOR KEY SHARE on that row (the foreign
key check), which FOR UPDATE would conflict with. Two refunds racing on one payment would then
deadlock (each holding KEY SHARE on the merchant from its idempotency-key insert, each waiting for
the other's lock). NO KEY UPDATE still serialises the writers of a balance among themselves."""
