-- Server-side sign-in state and sessions (issue 25). The signed cookie now
-- names a row here; the row is the authority, so sign-out and a failed
-- membership re-check end a session on every replica at once.

-- One row per sign-in in progress; the callback deletes it (single use).
CREATE TABLE web_sign_in_states (
    state_hash BYTEA PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX web_sign_in_states_expires ON web_sign_in_states (expires_at);

-- One row per signed-in browser. The id is a SHA-256 of the random token in
-- the cookie, so a database dump does not hold usable sessions.
CREATE TABLE web_sessions (
    id_hash BYTEA PRIMARY KEY,
    user_id BIGINT NOT NULL,
    username TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    -- When membership of the home server was last confirmed with Discord.
    checked_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);
CREATE INDEX web_sessions_user ON web_sessions (user_id);
