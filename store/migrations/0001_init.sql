-- The review service's schema, one text for SQLite and PostgreSQL: only
-- types and syntax both accept. Timestamps are UTC text in
-- audit.TimeLayout; lists are JSON arrays of strings; ids come from the
-- counters table.

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('change_requests', 0), ('decisions', 0);

CREATE TABLE users (
    name TEXT PRIMARY KEY,
    roles TEXT NOT NULL,
    member_of TEXT NOT NULL
);

-- Tokens are kept as the SHA-256 of their 32 random bytes, never as they are.
CREATE TABLE api_tokens (
    hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users (name),
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX api_tokens_user ON api_tokens (user_name);

CREATE TABLE change_requests (
    id BIGINT PRIMARY KEY,
    title TEXT NOT NULL,
    author TEXT NOT NULL REFERENCES users (name),
    kind TEXT NOT NULL CHECK (kind IN ('file', 'command', 'diff')),
    body TEXT NOT NULL,
    change_hash TEXT NOT NULL,
    twin_version TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN
        ('proposed', 'verifying', 'needs-approval', 'approved', 'applied', 'rejected', 'rolled-back')),
    report TEXT,
    editors TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX change_requests_state ON change_requests (state);

CREATE TABLE decisions (
    id BIGINT PRIMARY KEY,
    request_id BIGINT NOT NULL REFERENCES change_requests (id),
    user_name TEXT NOT NULL REFERENCES users (name),
    -- The user's roles and groups when deciding.
    user_roles TEXT NOT NULL,
    user_groups TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN
        ('approve', 'reject', 'override-policy', 'override-freeze', 'break-glass', 'accept-unknown')),
    policy TEXT NOT NULL,
    freeze_name TEXT NOT NULL,
    reason TEXT NOT NULL,
    change_hash TEXT NOT NULL,
    twin_version TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    -- When a break-glass ends.
    until_at TEXT
);
CREATE INDEX decisions_request ON decisions (request_id);
-- One approval per person for a request at a given change: concurrent
-- approvals by the same person record one.
CREATE UNIQUE INDEX decisions_one_approval ON decisions (request_id, change_hash, user_name)
    WHERE kind = 'approve';

CREATE TABLE freeze_windows (
    name TEXT PRIMARY KEY,
    schedule TEXT NOT NULL,
    duration_seconds BIGINT NOT NULL CHECK (duration_seconds > 0),
    override_groups TEXT NOT NULL
);

-- The audit log (package audit). audit_head is its one row: the last
-- entry's seq and hash. Appends update it first, which serializes them.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    request_id BIGINT,
    change_hash TEXT NOT NULL,
    verdict TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_request ON audit_log (request_id);
