-- Schema 5: signing keys can be revoked (by their person or an admin, `key.revoke`). A revoked
-- key signs nothing new, and no decision signed with it counts in a release any more; the
-- revocation is kept beside the key (when, by whom, why) and, like every change, in the log.
ALTER TABLE signing_keys ADD COLUMN revoked_at TEXT;
ALTER TABLE signing_keys ADD COLUMN revoked_by TEXT;
ALTER TABLE signing_keys ADD COLUMN revoke_reason TEXT;
