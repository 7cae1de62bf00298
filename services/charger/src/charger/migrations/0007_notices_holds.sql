-- Notices (ChargeUpcoming) and the catch-up limit (ChargesHeld, ReleaseHeldCharges).
-- noticed_through: the start of the last period whose notice was considered (sent or not).
-- hold: NULL, 'held' (a tick would have made more than CATCH_UP_LIMIT charges; ticks make
-- nothing for it and next_due_at stays NULL) or 'released' (the next tick makes everything
-- due, without the limit, then clears it).
ALTER TABLE assignments
    ADD COLUMN noticed_through date,
    ADD COLUMN hold text CHECK (hold IN ('held', 'released'));

CREATE INDEX assignments_released ON assignments (customer_id) WHERE hold = 'released';
