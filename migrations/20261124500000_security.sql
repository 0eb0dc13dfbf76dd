-- The home server is bootstrap configuration now (environment or
-- Secrets.toml), never a setting an admin command could change.
DELETE FROM settings WHERE key = 'DISCORD_GUILD_ID';

-- How each Discord user link was made. Links made by matching display names
-- (before identity came only from usernames) are marked for admins to review.
ALTER TABLE discord_user_links
    ADD COLUMN method TEXT NOT NULL DEFAULT 'admin'
        CHECK (method IN ('username', 'admin', 'name_match'));
UPDATE discord_user_links SET method = 'name_match' WHERE linked_by LIKE 'auto:%';

-- Every API attempt is a usage row, failed and retried ones included.
ALTER TABLE llm_usage ADD COLUMN outcome TEXT NOT NULL DEFAULT 'ok';

-- A budget reservation per analysis: the estimated maximum cost, held from
-- the budget check until the call is settled, so concurrent analyses cannot
-- overshoot the daily budget by more than one estimate. Rows are kept (the
-- per-person daily count reads them); an unsettled row stops counting
-- against the budget after a few minutes (its process died mid-call).
CREATE TABLE llm_reservations (
    id                 BIGSERIAL PRIMARY KEY,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    requested_by       TEXT NOT NULL,
    estimate_micro_usd BIGINT NOT NULL CHECK (estimate_micro_usd >= 0),
    settled_at         TIMESTAMPTZ
);
CREATE INDEX llm_reservations_created_idx ON llm_reservations (created_at DESC);
CREATE INDEX llm_reservations_person_idx ON llm_reservations (requested_by, created_at DESC);
