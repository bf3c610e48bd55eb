-- Consultations (9.3.1), complaints (9.3.2), opinion collection (9.3.3), halls and slot capacity
-- for appointments (9.2.2), serial numbers (6.3.3.3) and idempotency keys.
-- Times are ISO 8601 text in Asia/Shanghai local time (+08:00), dates YYYY-MM-DD; booleans 0/1.

-- One row per (kind, department, day): the last sequence number handed out. Incremented by one
-- atomic upsert in the same transaction as the record it numbers.
CREATE TABLE serials (
    kind TEXT NOT NULL,
    department TEXT NOT NULL,
    day TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    PRIMARY KEY (kind, department, day)
);

-- Idempotency-Key of each creating POST, with a hash of its body and the first response.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    status INTEGER NOT NULL DEFAULT 0,
    response TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);

CREATE TABLE consultations (
    number TEXT PRIMARY KEY,
    department TEXT NOT NULL,
    department_no TEXT NOT NULL,
    consultation_type TEXT NOT NULL,
    is_public INTEGER NOT NULL,
    subject TEXT NOT NULL,
    content TEXT NOT NULL,
    item_code TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    id_number TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    filed_at TEXT NOT NULL,
    answer_due TEXT NOT NULL,
    answer TEXT,
    answered_by TEXT,
    answered_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX consultations_by_filed ON consultations (filed_at);
CREATE INDEX consultations_by_answered ON consultations (answered_at);
CREATE INDEX consultations_by_updated ON consultations (updated_at);

CREATE TABLE complaints (
    number TEXT PRIMARY KEY,
    department TEXT NOT NULL,
    department_no TEXT NOT NULL,
    complaint_type TEXT NOT NULL,
    respondent_name TEXT NOT NULL DEFAULT '',
    content TEXT NOT NULL,
    case_number TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    id_number TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    filed_at TEXT NOT NULL,
    time_limit_days INTEGER NOT NULL,
    due_date TEXT NOT NULL,
    result TEXT,
    measures TEXT,
    handled_by TEXT,
    completed_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX complaints_by_filed ON complaints (filed_at);
CREATE INDEX complaints_by_completed ON complaints (completed_at);
CREATE INDEX complaints_by_updated ON complaints (updated_at);

-- Attachments of consultations and complaints (by the record's number).
CREATE TABLE attachments (
    number TEXT NOT NULL,
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    url TEXT NOT NULL,
    PRIMARY KEY (number, seq)
);

-- Halls that take appointments; per_slot citizens per half-hour slot and service.
CREATE TABLE halls (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    aliases TEXT NOT NULL DEFAULT '',
    district TEXT NOT NULL,
    address TEXT NOT NULL,
    hours TEXT NOT NULL,
    phone TEXT NOT NULL,
    per_slot INTEGER NOT NULL
);

-- Places taken per slot: the capacity check is one guarded upsert on this row.
CREATE TABLE slot_bookings (
    hall TEXT NOT NULL,
    service_code TEXT NOT NULL,
    day TEXT NOT NULL,
    start TEXT NOT NULL,
    booked INTEGER NOT NULL,
    PRIMARY KEY (hall, service_code, day, start)
);
INSERT INTO slot_bookings (hall, service_code, day, start, booked)
    SELECT hall, service_code, day, start, COUNT(*) FROM appointments WHERE status = 'booked'
    GROUP BY hall, service_code, day, start;

ALTER TABLE appointments ADD COLUMN service_name TEXT NOT NULL DEFAULT '';
ALTER TABLE appointments ADD COLUMN id_number TEXT NOT NULL DEFAULT '';
ALTER TABLE appointments ADD COLUMN channel TEXT NOT NULL DEFAULT '';
ALTER TABLE appointments ADD COLUMN filed_at TEXT NOT NULL DEFAULT '';
ALTER TABLE appointments ADD COLUMN updated_at TEXT NOT NULL DEFAULT '';
ALTER TABLE appointments ADD COLUMN cancelled_at TEXT;
ALTER TABLE appointments ADD COLUMN reschedules INTEGER NOT NULL DEFAULT 0;
-- One active booking per person, service and day.
CREATE UNIQUE INDEX appointments_one_per_person ON appointments (phone, service_code, day) WHERE status = 'booked';

-- Opinion collection (9.3.3): topics open for a period, each with its stated response time.
CREATE TABLE opinion_topics (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    department TEXT NOT NULL,
    department_no TEXT NOT NULL,
    opened_on TEXT NOT NULL,
    closes_on TEXT NOT NULL,
    respond_within_days INTEGER NOT NULL
);
CREATE TABLE opinions (
    number TEXT PRIMARY KEY,
    topic_id TEXT NOT NULL REFERENCES opinion_topics (id),
    content TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL,
    filed_at TEXT NOT NULL,
    respond_by TEXT NOT NULL
);
CREATE INDEX opinions_by_topic ON opinions (topic_id);
