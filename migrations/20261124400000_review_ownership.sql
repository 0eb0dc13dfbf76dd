-- Fault tolerance for reviews and record commands.
--
-- A review being analysed belongs to one running process (`instance_key`,
-- whose liveness is a Postgres session advisory lock held by that process);
-- when the process is gone, its analysing reviews are closed as
-- 'interrupted' and their messages are free again. `review_message_id` is
-- the message that carries a review's buttons, for "already reviewing" links.
ALTER TABLE review_sessions DROP CONSTRAINT review_sessions_status_check;
ALTER TABLE review_sessions ADD CONSTRAINT review_sessions_status_check
    CHECK (status IN ('analysing', 'reviewing', 'finished', 'cancelled', 'failed', 'expired', 'interrupted'));
ALTER TABLE review_sessions ADD COLUMN instance_key INTEGER;
ALTER TABLE review_sessions ADD COLUMN review_message_id BIGINT;
-- Why a review was closed by a fault or an admin (shown in logs and lists).
ALTER TABLE review_sessions ADD COLUMN closed_reason TEXT;

-- The Discord interaction that made a record (`/problem`, `/log`, …): a
-- duplicated or replayed interaction finds its record instead of making a
-- second one. Written in the record's own transaction.
CREATE TABLE record_interactions (
    interaction_id BIGINT PRIMARY KEY,
    record_id      BIGINT NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
