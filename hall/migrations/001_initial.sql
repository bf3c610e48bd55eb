-- The hall's first schema: cases (办件) with their stage history (standard 9.2.5) and appointments.
-- IF NOT EXISTS: databases created before migrations existed already hold these tables.
CREATE TABLE IF NOT EXISTS cases (
    number TEXT PRIMARY KEY,
    item_code TEXT NOT NULL,
    item_name TEXT NOT NULL,
    item_type TEXT NOT NULL,
    case_name TEXT NOT NULL,
    applicant_name TEXT NOT NULL,
    id_number TEXT NOT NULL,
    phone TEXT NOT NULL,
    department TEXT NOT NULL,
    applied_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cases_by_id ON cases (id_number);
CREATE TABLE IF NOT EXISTS case_stages (
    number TEXT NOT NULL REFERENCES cases (number),
    seq INTEGER NOT NULL,
    stage TEXT NOT NULL,
    at TEXT NOT NULL,
    handler TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (number, seq)
);
CREATE TABLE IF NOT EXISTS appointments (
    number TEXT PRIMARY KEY,
    hall TEXT NOT NULL,
    service_code TEXT NOT NULL,
    day TEXT NOT NULL,
    start TEXT NOT NULL,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'booked'
);
CREATE INDEX IF NOT EXISTS appointments_by_slot ON appointments (hall, service_code, day, start);
