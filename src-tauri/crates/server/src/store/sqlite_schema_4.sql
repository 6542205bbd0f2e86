-- Schema 4: the server keeps each record's latest fields (and whether it was deleted), so that
-- it can decide a gated release from what it holds: the suite's current cases, and the eval
-- runs releases cite. Records accepted before this schema get their fields from the event log
-- when the server opens (Store::open replays the records.put events once).
ALTER TABLE records ADD COLUMN fields TEXT;
ALTER TABLE records ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
CREATE INDEX records_by_prompt ON records (collection, prompt);
