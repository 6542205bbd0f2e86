//! The team server is the witness a registry file cannot forge: after each sync the registry
//! keeps the server's summary of what was exchanged, and `verify` names a file whose pulled
//! events (or their ledger entries) were cut out afterwards, even when the hash chain that is
//! left is intact.

mod common;

use common::{Member, Server};
use promptdesk_core::policy::Role;

const NAME: &str = "support/greeting";

fn copy_of(m: &Member, dir: &tempfile::TempDir, name: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    m.reg
        .connection()
        .execute("VACUUM INTO ?1", [path.to_str().unwrap()])
        .unwrap();
    path
}

#[test]
fn verify_names_pulled_history_cut_from_the_file() {
    let server = Server::start();
    let mut ana = Member::join(&server, "ana", Role::Editor);
    let mut ben = Member::join(&server, "ben", Role::Reviewer);
    ana.new_text(NAME, "Hello {{ name }}.");
    ana.edit(NAME, "Hello {{ name }}, welcome.", "Warmer");
    ana.sync();
    ben.sync();
    assert!(ben.reg.verify().unwrap().problems.is_empty());
    let dir = tempfile::tempdir().unwrap();

    // The last pulled ledger entry (ana's version 2) is cut, as a truncation would: the chain
    // that is left is still intact.
    let cut = copy_of(&ben, &dir, "cut-ledger.db");
    {
        let conn = rusqlite::Connection::open(&cut).unwrap();
        conn.execute_batch(
            "DROP TRIGGER IF EXISTS ledger_is_never_deleted;
             DELETE FROM ledger WHERE seq = (SELECT max(seq) FROM ledger);",
        )
        .unwrap();
    }
    let report = promptdesk_core::Registry::open(&cut)
        .unwrap()
        .verify()
        .unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.starts_with("ledger: entry") && p.contains("no longer in the ledger")),
        "{:?}",
        report.problems
    );

    // The exchange records are cut too, so nothing points at the missing entry: the server's
    // summary, kept at the last sync, still tells.
    let cut = copy_of(&ben, &dir, "cut-exchanges.db");
    {
        let conn = rusqlite::Connection::open(&cut).unwrap();
        conn.execute_batch(
            "DROP TRIGGER IF EXISTS ledger_is_never_deleted;
             DELETE FROM sync_events WHERE seq = (SELECT max(seq) FROM sync_events);
             DELETE FROM ledger WHERE seq = (SELECT max(seq) FROM ledger);",
        )
        .unwrap();
    }
    let report = promptdesk_core::Registry::open(&cut)
        .unwrap()
        .verify()
        .unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.starts_with("sync_events: the team server confirmed")),
        "{:?}",
        report.problems
    );
}
