-- The machines overview counts each machine's open records. "Open" is any
-- status but the kind's declared closed ones, which no btree condition can
-- say; with (kind, status) indexed, the statuses in use are walked one probe
-- each and only the open ones are read, so the page costs what the open
-- records cost, not the whole history (see records::browse::machines).
CREATE INDEX records_kind_status_idx ON records (kind, status);
