-- The key that signs sign-in cookies when SESSION_SECRET is unset: generated
-- once by the first process that needs it and shared by every replica, so a
-- member stays signed in whichever process answers. One row at most.
CREATE TABLE web_session_key (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    key bytea NOT NULL CHECK (length(key) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
