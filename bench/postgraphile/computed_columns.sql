-- Transaction.refundedAmount and Transaction.refundableAmount for the peer, as PostGraphile
-- computed columns (a function named <table>_<field> taking the row). The same rules as the
-- service (API.md): the sum of refunds that are not FAILED, CANCELLED or REVERSED; what is left
-- of the amount when the transaction is SUCCESS, else 0. Created in the bench's own database only.
CREATE FUNCTION transactions_refunded_amount(t transactions) RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT coalesce(sum(r.amount), 0)::bigint FROM refunds r
  WHERE r.merchant_id = t.merchant_id AND r.transaction_id = t.id
    AND r.status NOT IN ('FAILED', 'CANCELLED', 'REVERSED')
$$;

CREATE FUNCTION transactions_refundable_amount(t transactions) RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN t.status = 'SUCCESS'
              THEN greatest(t.amount - transactions_refunded_amount(t), 0) ELSE 0 END
$$;
