//! Signing keys are rotated by their person and revoked by them or an admin: a revoked key signs
//! nothing new and its approvals stop counting, while what it signed stays verifiable; `verify`
//! replays revocations (a deleted one is named), and an export carries them to another registry.

use std::sync::atomic::{AtomicU64, Ordering};

use promptdesk_core::policy::Role;
use promptdesk_core::release::ReleaseRequest;
use promptdesk_core::signing::{key_id, MemorySigner, Sign};
use promptdesk_core::{Error, Ref, Registry};

const REFUND: &str = "support/refund-reply";

fn seeded(seed_byte: u8) -> MemorySigner {
    MemorySigner::from_seed([seed_byte; 32])
}

/// A demo registry with a team: root (admin), ana (editor), ben (reviewer, key 1), rita
/// (releaser, key 2), and a review of v4 for production that ben approved.
fn team() -> (tempfile::TempDir, Registry, u32) {
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, _) = Registry::init(&dir.path().join("registry.db")).unwrap();
    let n = AtomicU64::new(0);
    reg.set_clock(Box::new(move || {
        let t = n.fetch_add(1, Ordering::SeqCst);
        format!("2026-12-01T10:{:02}:{:02}.000Z", t / 60 % 60, t % 60)
    }));
    reg.set_actor("seed");
    promptdesk_demo::seed(&mut reg).unwrap();
    act(&mut reg, "root", seeded(9));
    reg.set_role("root", Role::Admin).unwrap();
    reg.set_role("ana", Role::Editor).unwrap();
    reg.set_role("ben", Role::Reviewer).unwrap();
    reg.set_role("rita", Role::Releaser).unwrap();
    act(&mut reg, "ana", seeded(3));
    let review = reg
        .request_review(REFUND, Some(&Ref::Number(4)), "production", "Friendlier")
        .unwrap();
    act(&mut reg, "ben", seeded(1));
    reg.approve(review.number, "Good").unwrap();
    (dir, reg, review.number)
}

fn act(reg: &mut Registry, who: &str, signer: MemorySigner) {
    reg.set_actor(who);
    reg.set_signer(Box::new(signer));
}

fn counted(reg: &Registry) -> Vec<String> {
    let v = reg.resolve(REFUND, Some(&Ref::Number(4))).unwrap();
    reg.decide(&v, "production", "Friendlier", false)
        .unwrap()
        .counted_approvals
}

fn release(reg: &mut Registry) -> promptdesk_core::Result<promptdesk_core::release::Release> {
    reg.release(
        REFUND,
        Some(&Ref::Number(4)),
        "production",
        ReleaseRequest {
            changelog: "Friendlier",
            ..Default::default()
        },
    )
}

#[test]
fn a_revoked_keys_approvals_stop_counting_and_a_rotated_key_signs_again() {
    let (_dir, mut reg, review) = team();
    assert_eq!(counted(&reg), vec!["ben".to_string()]);
    let ben_old = key_id(&seeded(1).public_key());

    // Ben rotates: a new key registered, the old one revoked in the same write.
    act(&mut reg, "ben", seeded(1));
    let rotation = reg
        .rotate_signing_key(Some(&seeded(1).public_key()), &seeded(11).public_key())
        .unwrap();
    assert_eq!(rotation.new_key.person, "ben");
    assert!(rotation.new_key.revoked.is_none());
    let old = rotation.old_key.unwrap();
    assert_eq!(old.key_id, ben_old);
    let revoked = old.revoked.unwrap();
    assert_eq!(
        (revoked.by.as_str(), revoked.reason.as_str()),
        ("ben", "rotated to a new key")
    );

    // His approval with the old key no longer counts; the release is refused for it.
    assert!(counted(&reg).is_empty(), "{:?}", counted(&reg));
    act(&mut reg, "rita", seeded(2));
    let refused = release(&mut reg).unwrap_err();
    assert!(matches!(refused, Error::Refused(_)), "{refused:?}");

    // The old key signs nothing more.
    act(&mut reg, "ben", seeded(1));
    let e = reg
        .approve(review, "again, old key")
        .unwrap_err()
        .to_string();
    assert!(e.contains("revoked by ben"), "{e}");
    assert!(e.contains("Make a new key"), "{e}");

    // Approving again with the new key counts, and the release goes through.
    act(&mut reg, "ben", seeded(11));
    reg.approve(review, "Still good").unwrap();
    assert_eq!(counted(&reg), vec!["ben".to_string()]);
    act(&mut reg, "rita", seeded(2));
    release(&mut reg).unwrap();

    // Everything old and new still verifies (the old approval's signature included).
    let report = reg.verify().unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
}

#[test]
fn only_the_keys_person_or_an_admin_revokes_it_and_only_once() {
    let (_dir, mut reg, _) = team();
    let ben = key_id(&seeded(1).public_key());
    act(&mut reg, "rita", seeded(2));
    let e = reg
        .revoke_signing_key(&ben, "I do not trust it")
        .unwrap_err();
    assert!(matches!(e, Error::Refused(_)), "{e:?}");
    assert!(
        e.to_string().contains("revoked by ben or by an admin"),
        "{e}"
    );
    let e = reg.revoke_signing_key(&ben, "  ").unwrap_err();
    assert!(matches!(e, Error::BadInput(_)), "{e:?}");
    assert!(counted(&reg) == vec!["ben".to_string()]);

    // An admin may, by a unique prefix of the id.
    act(&mut reg, "root", seeded(9));
    let key = reg
        .revoke_signing_key(&ben[..6], "Ben left the team")
        .unwrap();
    assert_eq!(key.revoked.as_ref().unwrap().by, "root");
    assert!(counted(&reg).is_empty());
    let again = reg.revoke_signing_key(&ben, "twice").unwrap_err();
    assert!(matches!(again, Error::Conflict(_)), "{again:?}");
    assert!(
        again.to_string().contains("already revoked by root"),
        "{again}"
    );
    let e = reg.revoke_signing_key("ffffffff", "no such").unwrap_err();
    assert!(matches!(e, Error::NotFound(_)), "{e:?}");

    let listed = reg.signing_keys().unwrap();
    let ben_key = listed.iter().find(|k| k.key_id == ben).unwrap();
    assert_eq!(
        ben_key.revoked.as_ref().unwrap().reason,
        "Ben left the team"
    );
    assert!(listed
        .iter()
        .filter(|k| k.key_id != ben)
        .all(|k| k.revoked.is_none()));
}

#[test]
fn verify_names_a_revocation_removed_or_edited_behind_the_ledgers_back() {
    let (dir, mut reg, _) = team();
    let ben = key_id(&seeded(1).public_key());
    act(&mut reg, "root", seeded(9));
    reg.revoke_signing_key(&ben, "laptop lost").unwrap();
    assert!(reg.verify().unwrap().problems.is_empty());
    let path = dir.path().join("registry.db");
    drop(reg);

    let tamper = |sql: &str| {
        let copy = dir.path().join("copy.db");
        std::fs::copy(&path, &copy).unwrap();
        rusqlite::Connection::open(&copy)
            .unwrap()
            .execute_batch(sql)
            .unwrap();
        Registry::open(&copy).unwrap().verify().unwrap().problems
    };
    let removed =
        tamper("DROP TRIGGER key_revocations_are_never_deleted; DELETE FROM key_revocations");
    assert!(
        removed.iter().any(|p| p.contains(&format!(
            "key_revocations: {ben} (revoked by root) is in the ledger but not in the table"
        ))),
        "{removed:#?}"
    );
    let edited = tamper(
        "DROP TRIGGER key_revocations_are_append_only; UPDATE key_revocations SET reason = 'rotated'",
    );
    assert!(
        edited
            .iter()
            .any(|p| p.contains(&format!("key_revocations: {ben}: reason is \"rotated\""))),
        "{edited:#?}"
    );
    let (ana_key, ana_public) = (key_id(&seeded(3).public_key()), seeded(3).public_key());
    let added = tamper(&format!(
        "INSERT INTO signing_keys VALUES ('{ana_key}', 'ana', '{ana_public}', '2026-12-01T11:00:00Z');
         INSERT INTO key_revocations VALUES ('{ana_key}', 'mallory', '2026-12-01T11:00:00Z', 'x')"
    ));
    assert!(
        added
            .iter()
            .any(|p| p.contains("(revoked by mallory) is not in the ledger")),
        "{added:#?}"
    );
}

#[test]
fn an_export_carries_revocations_and_the_import_counts_no_revoked_approval() {
    let (dir, mut reg, _) = team();
    let ben = key_id(&seeded(1).public_key());
    act(&mut reg, "ben", seeded(1));
    reg.revoke_signing_key(&ben, "laptop lost").unwrap();
    let out = dir.path().join("export");
    let summary = promptdesk_core::export::export(&reg, &out).unwrap();
    assert_eq!(summary.key_revocations, 1);
    let lines = std::fs::read_to_string(out.join("key-revocations.jsonl")).unwrap();
    assert!(lines.contains("laptop lost"), "{lines}");

    let (mut other, _) = Registry::init(&dir.path().join("other.db")).unwrap();
    let imported = promptdesk_core::export::import(&mut other, &out).unwrap();
    assert_eq!(imported.key_revocations, 1);
    assert!(counted(&other).is_empty());
    assert!(other.verify().unwrap().problems.is_empty());

    // A revocation line deleted from the export is caught by the export's own ledger.
    std::fs::write(out.join("key-revocations.jsonl"), "").unwrap();
    let (mut third, _) = Registry::init(&dir.path().join("third.db")).unwrap();
    let e = promptdesk_core::export::import(&mut third, &out)
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing from key-revocations.jsonl"), "{e}");
}

/// One ledger row, to be rewritten and chained again as someone with the file and the time
/// would (the chain is not keyed).
struct Row {
    id: String,
    at: String,
    actor: String,
    kind: String,
    subject: String,
    payload: serde_json::Value,
}

fn rewrite_ledger(path: &std::path::Path, edit: impl FnOnce(&mut Vec<Row>)) {
    use promptdesk_core::store::ledger::{entry_hash, GENESIS};
    let conn = rusqlite::Connection::open(path).unwrap();
    let triggers: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'ledger'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for t in triggers {
        conn.execute_batch(&format!("DROP TRIGGER {t}")).unwrap();
    }
    let mut rows: Vec<Row> = conn
        .prepare("SELECT id, at, actor, kind, subject, payload FROM ledger ORDER BY seq")
        .unwrap()
        .query_map([], |r| {
            Ok(Row {
                id: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                kind: r.get(3)?,
                subject: r.get(4)?,
                payload: serde_json::from_str(&r.get::<_, String>(5)?).unwrap(),
            })
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    edit(&mut rows);
    conn.execute_batch("DELETE FROM ledger").unwrap();
    let mut prev = GENESIS.to_string();
    for (i, r) in rows.iter().enumerate() {
        let seq = i as i64 + 1;
        let hash = entry_hash(
            seq, &r.id, &r.at, &r.actor, &r.kind, &r.subject, &r.payload, &prev,
        );
        conn.execute(
            "INSERT INTO ledger (seq, id, at, actor, kind, subject, payload, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            rusqlite::params![
                seq,
                r.id,
                r.at,
                r.actor,
                r.kind,
                r.subject,
                r.payload.to_string(),
                prev,
                hash
            ],
        )
        .unwrap();
        prev = hash;
    }
}

#[test]
fn verify_names_a_signature_made_after_its_keys_revocation_and_a_revocation_nobody_could_make() {
    let (dir, mut reg, _) = team();
    let ben = key_id(&seeded(1).public_key());
    act(&mut reg, "root", seeded(9));
    reg.revoke_signing_key(&ben, "Ben left the team").unwrap();
    assert!(reg.verify().unwrap().problems.is_empty());
    let path = dir.path().join("registry.db");
    drop(reg);
    let copy = |name: &str| {
        let p = dir.path().join(name);
        std::fs::copy(&path, &p).unwrap();
        p
    };

    // The ledger rewritten so the revocation comes before ben's approval: an approval signed
    // with a key already revoked.
    let reordered = copy("reordered.db");
    rewrite_ledger(&reordered, |rows| {
        let revoked = rows.iter().position(|r| r.kind == "key.revoked").unwrap();
        let approval = rows
            .iter()
            .position(|r| r.kind == "review.approve")
            .unwrap();
        let r = rows.remove(revoked);
        rows.insert(approval, r);
    });
    let problems = Registry::open(&reordered)
        .unwrap()
        .verify()
        .unwrap()
        .problems;
    assert!(
        problems.iter().any(|p| p.contains("'s approve")
            && p.contains(&format!("is signed with key {ben}, which root revoked"))),
        "{problems:#?}"
    );

    // The revocation (ledger and table) rewritten as rita's, who may not revoke ben's key.
    let usurped = copy("usurped.db");
    rewrite_ledger(&usurped, |rows| {
        rows.iter_mut()
            .find(|r| r.kind == "key.revoked")
            .unwrap()
            .actor = "rita".into();
    });
    rusqlite::Connection::open(&usurped)
        .unwrap()
        .execute_batch(
            "DROP TRIGGER key_revocations_are_append_only;
             UPDATE key_revocations SET revoked_by = 'rita'",
        )
        .unwrap();
    let problems = Registry::open(&usurped).unwrap().verify().unwrap().problems;
    assert!(
        problems.iter().any(|p| p.contains(&format!(
            "key_revocations: {ben}: the ledger's revocation by rita"
        )) && p.contains("was not allowed")),
        "{problems:#?}"
    );
}

#[test]
fn a_reviewers_latest_decision_with_a_revoked_key_withdraws_the_earlier_and_they_may_decide_again()
{
    let (_dir, mut reg, review) = team();
    // Ben, on a second machine with another key, asks for changes; that key is lost and revoked.
    act(&mut reg, "ben", seeded(12));
    reg.request_changes(review, "wait").unwrap();
    act(&mut reg, "root", seeded(9));
    reg.revoke_signing_key(&key_id(&seeded(12).public_key()), "laptop lost")
        .unwrap();
    // His approval (first machine) stays withdrawn: nothing of his counts.
    assert!(counted(&reg).is_empty());
    // And he may approve again with the key he still has.
    act(&mut reg, "ben", seeded(1));
    reg.approve(review, "Now it is fine").unwrap();
    assert_eq!(counted(&reg), vec!["ben".to_string()]);
    let detail = reg.review_detail(review).unwrap();
    let marked: Vec<bool> = detail.events.iter().map(|e| e.key_revoked).collect();
    assert_eq!(marked, vec![false, true, false]);
    assert!(reg.verify().unwrap().problems.is_empty());
}
