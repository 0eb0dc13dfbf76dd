-- Every workflow run, like an automation trace: which workflow (and the
-- version of the files it ran with), what started it, who and where, what
-- it gathered, how it ended and why. Tokens and cost are not copied here:
-- they stay in llm_usage (linked by run_id), and the records a run created
-- stay in review_items (linked through review_session_id), so each figure
-- has one source of truth.
CREATE TABLE workflow_runs (
    id                BIGSERIAL PRIMARY KEY,
    workflow          TEXT NOT NULL,
    workflow_version  TEXT NOT NULL,
    trigger           TEXT NOT NULL CHECK (trigger IN ('message_command', 'reaction', 'slash_command', 'thread_created', 'schedule')),
    -- Who started it (NULL for schedules): the Discord id, and the unique
    -- username at the time (for reading; identity is the id).
    user_id           BIGINT,
    username          TEXT,
    guild_id          BIGINT,
    -- The channel or thread it ran in, and the message it was about.
    channel_id        BIGINT,
    target_message_id BIGINT,
    -- Both from the app's clock.
    started_at        TIMESTAMPTZ NOT NULL,
    finished_at       TIMESTAMPTZ,
    -- What the analysis read: the messages' ids and how many images.
    message_ids       BIGINT[] NOT NULL DEFAULT '{}',
    images            INTEGER NOT NULL DEFAULT 0 CHECK (images >= 0),
    outcome           TEXT NOT NULL DEFAULT 'in_progress'
                      CHECK (outcome IN ('in_progress', 'created', 'skipped', 'refused', 'failed', 'posted')),
    -- One sentence: the refusal the person saw, the failure, what was created.
    reason            TEXT,
    review_session_id BIGINT REFERENCES review_sessions (id) ON DELETE SET NULL,
    -- The process running it (its liveness-lock key, see db::locks), so a
    -- run left in progress by a process that died can be settled.
    instance_key      INTEGER,
    CHECK ((outcome = 'in_progress') = (finished_at IS NULL))
);
CREATE INDEX workflow_runs_started_idx ON workflow_runs (started_at DESC, id DESC);
CREATE INDEX workflow_runs_workflow_idx ON workflow_runs (workflow, started_at DESC, id DESC);
CREATE INDEX workflow_runs_in_progress_idx ON workflow_runs (id) WHERE outcome = 'in_progress';
CREATE INDEX workflow_runs_review_idx ON workflow_runs (review_session_id) WHERE review_session_id IS NOT NULL;

ALTER TABLE llm_usage ADD COLUMN run_id BIGINT REFERENCES workflow_runs (id) ON DELETE SET NULL;
CREATE INDEX llm_usage_run_idx ON llm_usage (run_id) WHERE run_id IS NOT NULL;
