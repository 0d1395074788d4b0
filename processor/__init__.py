"""The refund processor: claims PENDING refunds from PostgreSQL and drives them through a
payment gateway (here the sandbox rails), inside `refunds serve` or alone as `refunds worker`."""
