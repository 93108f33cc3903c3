-- The frame counter of the reading a counter state holds: a frame counter that starts again
-- says the device restarted, so a lower total is a reset, not a 16-bit rollover.
ALTER TABLE counter_state ADD COLUMN IF NOT EXISTS f_cnt bigint;
