-- Foundation schema: settings, catalog, records and their Discord sources.
-- Discord snowflakes are stored as BIGINT: they fit in 63 bits until 2084.

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by TEXT NOT NULL
);

-- Every change, for "who changed what and when". Secret values are never
-- copied here: `new_value` is NULL for them and `was_secret` says why.
CREATE TABLE settings_history (
    id         BIGSERIAL PRIMARY KEY,
    key        TEXT NOT NULL,
    new_value  TEXT,
    was_secret BOOLEAN NOT NULL DEFAULT FALSE,
    action     TEXT NOT NULL CHECK (action IN ('set', 'reset')),
    changed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    changed_by TEXT NOT NULL
);
CREATE INDEX settings_history_key_idx ON settings_history (key, changed_at DESC);

CREATE TABLE machines (
    id         BIGSERIAL PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name       TEXT NOT NULL CHECK (length(btrim(name)) > 0),
    short_name TEXT,
    aliases    TEXT[] NOT NULL DEFAULT '{}',
    model_name TEXT,
    manufacturer TEXT,
    year       INTEGER,
    serial_number TEXT,
    status     TEXT NOT NULL DEFAULT 'unknown',
    location   TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX machines_name_lower_idx ON machines (lower(name));

CREATE TABLE maintainers (
    id           BIGSERIAL PRIMARY KEY,
    username     TEXT NOT NULL CHECK (length(btrim(username)) > 0),
    display_name TEXT,
    is_admin     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX maintainers_username_lower_idx ON maintainers (lower(username));

-- One Discord user <-> one maintainer, both ways.
CREATE TABLE discord_user_links (
    discord_user_id  BIGINT PRIMARY KEY,
    maintainer_id    BIGINT NOT NULL UNIQUE REFERENCES maintainers (id) ON DELETE CASCADE,
    discord_username TEXT,
    linked_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    linked_by        TEXT NOT NULL
);

CREATE TABLE records (
    id                   BIGSERIAL PRIMARY KEY,
    kind                 TEXT NOT NULL,
    machine_id           BIGINT REFERENCES machines (id),
    parent_id            BIGINT REFERENCES records (id),
    status               TEXT,
    description          TEXT NOT NULL,
    fields               JSONB NOT NULL DEFAULT '{}'::jsonb,
    author_maintainer_id BIGINT REFERENCES maintainers (id),
    author_name          TEXT,
    occurred_at          TIMESTAMPTZ NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_via          TEXT NOT NULL,
    created_by           TEXT,
    CHECK (author_maintainer_id IS NOT NULL OR author_name IS NOT NULL),
    CHECK (parent_id IS NULL OR parent_id <> id)
);
CREATE INDEX records_kind_idx ON records (kind, created_at DESC);
CREATE INDEX records_machine_idx ON records (machine_id);
CREATE INDEX records_parent_idx ON records (parent_id);

-- The Discord messages a record came from. One message may feed several
-- records and a record may have several messages; the pair is unique.
CREATE TABLE record_sources (
    record_id  BIGINT NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    guild_id   BIGINT,
    channel_id BIGINT NOT NULL,
    message_id BIGINT NOT NULL,
    PRIMARY KEY (record_id, message_id)
);
CREATE INDEX record_sources_message_idx ON record_sources (message_id);
