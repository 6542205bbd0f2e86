//! Export and import of the review and release records: roles, policies, public signing keys,
//! reviews with their threads and signed decisions, and signed releases and rollbacks. An import
//! reproduces them exactly, `verify` passes on it, a hand-edited record is refused with its file
//! and line, importing again changes nothing, and no private key is ever written.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use promptdesk_core::export::{export, import, TransferSummary};
use promptdesk_core::policy::{Policy, Role};
use promptdesk_core::release::{Anchor, BundleItem, ReleaseRequest, RollbackRequest};
use promptdesk_core::signing::MemorySigner;
use promptdesk_core::{Error, Ref, Registry};
use promptdesk_demo as demo;
use serde_json::Value;

const RECORD_FILES: [&str; 6] = [
    "signing-keys.jsonl",
    "roles.jsonl",
    "policies.jsonl",
    "reviews.jsonl",
    "review-events.jsonl",
    "releases.jsonl",
];

/// Distinct, increasing times, the same sequence in every registry given one.
fn ticking_clock() -> promptdesk_core::registry::Clock {
    let n = AtomicU64::new(0);
    Box::new(move || {
        let t = n.fetch_add(1, Ordering::SeqCst);
        format!(
            "2026-11-20T{:02}:{:02}:{:02}.000Z",
            8 + t / 3600,
            t / 60 % 60,
            t % 60
        )
    })
}

/// The private key seed of `who` in these tests (derived from the name, so a test can look for it).
fn seed_of(who: &str) -> [u8; 32] {
    let mut seed = [0u8; 32];
    for (i, b) in who.bytes().enumerate() {
        seed[i % 32] ^= b;
    }
    seed[31] ^= 0xa5;
    seed
}

/// Acts as `who`, signing with their test key.
fn as_(reg: &mut Registry, who: &str) {
    reg.set_actor(who);
    reg.set_signer(Box::new(MemorySigner::from_seed(seed_of(who))));
}

/// The demo (three prompts shipped through reviews, signed with throwaway keys), then a team
/// with roles, a configured policy, a review with a line comment, a reply, changes requested and
/// an approval, its release and a rollback, a review closed unreleased, and a signed bundle.
fn team(path: &Path) -> Registry {
    let (mut reg, _) = Registry::init(path).unwrap();
    reg.set_clock(ticking_clock());
    reg.set_actor("seed");
    demo::seed(&mut reg).unwrap();

    as_(&mut reg, "root");
    for (who, role) in [
        ("root", Role::Admin),
        ("ana", Role::Editor),
        ("ben", Role::Reviewer),
        ("rita", Role::Releaser),
        ("vic", Role::Viewer),
    ] {
        reg.set_role(who, role).unwrap();
    }
    reg.set_policy(
        "staging",
        &Policy {
            changelog_required: true,
            ..Policy::unprotected()
        },
    )
    .unwrap();

    as_(&mut reg, "ana");
    let review = reg
        .request_review(
            "support/refund-reply",
            Some(&Ref::Number(4)),
            "production",
            "Shorter reply",
        )
        .unwrap();
    as_(&mut reg, "ben");
    let question = reg
        .comment(
            review.number,
            "Keep the 30 days here?",
            Some(&Anchor {
                template: "template".into(),
                line: 1,
            }),
            None,
        )
        .unwrap();
    as_(&mut reg, "vic");
    reg.comment(
        review.number,
        "Customers ask about the card",
        None,
        Some(&question.id),
    )
    .unwrap();
    as_(&mut reg, "ben");
    reg.request_changes(review.number, "Say the refund goes back to the card")
        .unwrap();
    reg.approve(review.number, "Fine after all").unwrap();
    as_(&mut reg, "rita");
    reg.release(
        "support/refund-reply",
        Some(&Ref::Number(4)),
        "production",
        ReleaseRequest {
            changelog: "Shorter, friendlier reply",
            review: Some(review.number),
            ..Default::default()
        },
    )
    .unwrap();
    reg.rollback(
        "support/refund-reply",
        "production",
        RollbackRequest {
            reason: "Customers got no policy text",
            ..Default::default()
        },
    )
    .unwrap();

    as_(&mut reg, "ana");
    let unneeded = reg
        .request_review(
            "support/triage",
            Some(&Ref::Number(1)),
            "staging",
            "The first one again?",
        )
        .unwrap();
    reg.close_review(unneeded.number, "Not needed after all")
        .unwrap();

    as_(&mut reg, "rita");
    reg.release_bundle(
        &[
            BundleItem {
                prompt: "support/triage".into(),
                reference: "2".into(),
                label: "staging".into(),
                changelog: String::new(),
            },
            BundleItem {
                prompt: "policies/refunds".into(),
                reference: "2".into(),
                label: "staging".into(),
                changelog: "The policy the triage answers quote".into(),
            },
        ],
        "Stage the support set",
    )
    .unwrap();
    reg
}

/// A new, empty registry acting as `importer`.
fn empty(path: &Path) -> Registry {
    let (mut reg, _) = Registry::init(path).unwrap();
    reg.set_clock(ticking_clock());
    reg.set_actor("importer");
    reg
}

fn ledger_len(reg: &Registry) -> usize {
    reg.ledger(None, 0, 1_000_000).unwrap().len()
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap()
}

/// Every file under `root`, relative path and bytes, sorted.
fn files(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(root).unwrap().display().to_string(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// What people see of review and release, which must be the same in both registries.
fn assert_same_review_and_release(a: &mut Registry, b: &mut Registry) {
    assert_eq!(a.roles().unwrap(), b.roles().unwrap());
    assert_eq!(a.policies().unwrap(), b.policies().unwrap());
    assert_eq!(a.reviews(true).unwrap(), b.reviews(true).unwrap());
    assert_eq!(a.reviews(false).unwrap(), b.reviews(false).unwrap());
    for p in a.list(None).unwrap() {
        assert_eq!(
            a.releases(&p.name, None).unwrap(),
            b.releases(&p.name, None).unwrap(),
            "releases of {}",
            p.name
        );
    }
    // The checklist and "what you approved before" depend on who is looking.
    for who in ["ben", "rita", "ana"] {
        a.set_actor(who);
        b.set_actor(who);
        for r in a.reviews(true).unwrap() {
            assert_eq!(
                a.review_detail(r.number).unwrap(),
                b.review_detail(r.number).unwrap(),
                "review #{} as seen by {who}",
                r.number
            );
        }
    }
}

#[test]
fn an_import_reproduces_every_review_release_key_role_and_policy_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = team(&dir.path().join("a.db"));
    let out = dir.path().join("export");
    let exported = export(&a, &out).unwrap();
    assert_eq!(
        (
            exported.roles,
            exported.policies,
            exported.reviews,
            exported.releases
        ),
        (5, 1, 5, 7),
        "{exported:?}"
    );
    // The demo's comment and approval per shipped prompt (3 × 2); the team's comment, reply,
    // request for changes, approval, and the close of the unneeded review.
    assert_eq!(exported.review_events, 11, "{exported:?}");
    // The demo's ben and rita, then ben, rita and ana with their test keys.
    assert_eq!(exported.signing_keys, 4, "{exported:?}");
    let kinds: Vec<String> = read(&out, "releases.jsonl")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["kind"].to_string())
        .collect();
    assert!(kinds.contains(&"\"rollback\"".to_string()), "{kinds:?}");

    let mut b = empty(&dir.path().join("b.db"));
    let imported = import(&mut b, &out).unwrap();
    assert_eq!(
        imported,
        TransferSummary {
            unchanged: 0,
            ..exported.clone()
        }
    );

    assert_same_review_and_release(&mut a, &mut b);
    let report = b.verify().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(report.ledger_entries > 0);

    // The import exports to the same records, byte for byte (its ledger is its own).
    let again = dir.path().join("again");
    export(&b, &again).unwrap();
    for file in RECORD_FILES {
        assert_eq!(read(&out, file), read(&again, file), "{file}");
    }
    let prompt_files = |root: &Path| {
        files(root)
            .into_iter()
            .filter(|(p, _)| p.starts_with("prompts"))
            .collect::<Vec<_>>()
    };
    assert_eq!(prompt_files(&out), prompt_files(&again));

    // And that export imports too: the ledger of an imported registry witnesses its records.
    let mut c = empty(&dir.path().join("c.db"));
    import(&mut c, &again).unwrap();
    assert_same_review_and_release(&mut a, &mut c);
    assert!(c.verify().unwrap().problems.is_empty());
}

#[test]
fn exporting_twice_is_byte_identical_and_a_new_approval_is_one_new_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = team(&dir.path().join("a.db"));
    let out = dir.path().join("export");
    export(&a, &out).unwrap();
    let first = files(&out);
    export(&a, &out).unwrap();
    assert_eq!(first, files(&out), "exporting twice gives identical bytes");
    for file in RECORD_FILES {
        for (i, line) in read(&out, file).lines().enumerate() {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{file}:{}: not one JSON object: {e}", i + 1));
            assert!(v.is_object(), "{file}:{}", i + 1);
        }
    }

    // ben (whose key is registered) approves another review: one line more, nothing else moves.
    as_(&mut a, "ana");
    let review = a
        .request_review(
            "support/refund-reply",
            Some(&Ref::Number(2)),
            "production",
            "The long reply",
        )
        .unwrap();
    export(&a, &out).unwrap();
    let before = read(&out, "review-events.jsonl");
    let others: Vec<String> = ["signing-keys.jsonl", "roles.jsonl", "releases.jsonl"]
        .iter()
        .map(|f| read(&out, f))
        .collect();
    as_(&mut a, "ben");
    a.approve(review.number, "ok").unwrap();
    export(&a, &out).unwrap();
    let after = read(&out, "review-events.jsonl");
    assert!(after.starts_with(&before), "existing lines are untouched");
    let added: Vec<&str> = after[before.len()..].lines().collect();
    assert_eq!(added.len(), 1, "{added:?}");
    assert!(added[0].contains("\"kind\":\"approve\""), "{}", added[0]);
    let others_after: Vec<String> = ["signing-keys.jsonl", "roles.jsonl", "releases.jsonl"]
        .iter()
        .map(|f| read(&out, f))
        .collect();
    assert_eq!(others, others_after);
}

/// Replaces the first line of `file` containing `needle` with `edit(line)`; returns its number.
fn edit_line(dir: &Path, file: &str, needle: &str, edit: impl Fn(&str) -> String) -> usize {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut found = None;
    let lines: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if found.is_none() && l.contains(needle) {
                found = Some(i + 1);
                let edited = edit(l);
                assert_ne!(edited, l, "the edit must change {file}:{}", i + 1);
                edited
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    found.unwrap_or_else(|| panic!("no line of {file} contains {needle}"))
}

/// The same hex string with its first digit changed.
fn flip_first_hex(line: &str, field: &str) -> String {
    let v: Value = serde_json::from_str(line).unwrap();
    let old = v[field].as_str().unwrap().to_string();
    let first = if old.starts_with('0') { "1" } else { "0" };
    let new = format!("{first}{}", &old[1..]);
    line.replace(&old, &new)
}

fn copy_dir(from: &Path, to: &Path) {
    for (rel, bytes) in files(from) {
        let p = to.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

#[test]
fn a_hand_edited_record_is_refused_naming_file_and_line_and_nothing_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    let a = team(&dir.path().join("a.db"));
    let pristine = dir.path().join("pristine");
    export(&a, &pristine).unwrap();

    type Tamper = Box<dyn Fn(&Path) -> String>;
    let cases: Vec<(&str, Tamper, &str)> = vec![
        (
            "a comment's body",
            Box::new(|d| {
                let n = edit_line(d, "review-events.jsonl", "Keep the 30 days", |l| {
                    l.replace("Keep the 30 days here?", "Drop the 30 days.")
                });
                format!("review-events.jsonl:{n}")
            }),
            "body",
        ),
        (
            "an approval's signature",
            Box::new(|d| {
                let n = edit_line(d, "review-events.jsonl", "Fine after all", |l| {
                    flip_first_hex(l, "signature")
                });
                format!("review-events.jsonl:{n}")
            }),
            "signature does not match",
        ),
        (
            "the role a reviewer had when approving",
            Box::new(|d| {
                let n = edit_line(d, "review-events.jsonl", "Fine after all", |l| {
                    l.replace("\"actor_role\":\"reviewer\"", "\"actor_role\":\"admin\"")
                });
                format!("review-events.jsonl:{n}")
            }),
            "role",
        ),
        (
            "a release's changelog",
            Box::new(|d| {
                let n = edit_line(d, "releases.jsonl", "Shorter, friendlier reply", |l| {
                    l.replace("Shorter, friendlier reply", "Longer reply")
                });
                format!("releases.jsonl:{n}")
            }),
            "changelog",
        ),
        (
            "a release's signature",
            Box::new(|d| {
                let n = edit_line(d, "releases.jsonl", "Customers got no policy text", |l| {
                    flip_first_hex(l, "signature")
                });
                format!("releases.jsonl:{n}")
            }),
            "signature",
        ),
        (
            "a review's description",
            Box::new(|d| {
                let n = edit_line(d, "reviews.jsonl", "Shorter reply", |l| {
                    l.replace("Shorter reply", "Longer reply")
                });
                format!("reviews.jsonl:{n}")
            }),
            "description",
        ),
        (
            "a request for changes, deleted",
            Box::new(|d| {
                edit_line(d, "review-events.jsonl", "goes back to the card", |_| {
                    String::new()
                });
                let n = read(d, "ledger.jsonl")
                    .lines()
                    .position(|l| l.contains("review.request_changes"))
                    .unwrap()
                    + 1;
                format!("ledger.jsonl:{n}")
            }),
            "missing from review-events.jsonl",
        ),
        (
            "a comment's body, and the ledger to match",
            Box::new(|d| {
                edit_line(d, "review-events.jsonl", "Keep the 30 days", |l| {
                    l.replace("Keep the 30 days here?", "Drop the 30 days.")
                });
                let n = edit_line(d, "ledger.jsonl", "Keep the 30 days", |l| {
                    l.replace("Keep the 30 days here?", "Drop the 30 days.")
                });
                format!("ledger.jsonl:{n}")
            }),
            "altered",
        ),
    ];
    for (i, (what, tamper, says)) in cases.iter().enumerate() {
        let out = dir.path().join(format!("tampered-{i}"));
        copy_dir(&pristine, &out);
        let place = tamper(&out);
        let mut b = empty(&dir.path().join(format!("b{i}.db")));
        let before = ledger_len(&b);
        let err = import(&mut b, &out).unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, Error::BadInput(_)),
            "{what}: a bad export is bad input: {message}"
        );
        assert!(
            message.contains(&place),
            "{what}: the error names {place}: {message}"
        );
        assert!(
            message.contains(says),
            "{what}: the error says {says:?}: {message}"
        );
        assert!(b.list(None).unwrap().is_empty(), "{what}: nothing imported");
        assert!(b.reviews(true).unwrap().is_empty(), "{what}");
        assert!(b.roles().unwrap().is_empty(), "{what}");
        assert_eq!(ledger_len(&b), before, "{what}: no event recorded");
    }
    // The untouched export imports fine: the cases above fail for their edit alone.
    let mut b = empty(&dir.path().join("fine.db"));
    import(&mut b, &pristine).unwrap();
}

#[test]
fn importing_again_changes_nothing_and_a_newer_export_adds_only_what_is_new() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = team(&dir.path().join("a.db"));
    let out = dir.path().join("export");
    let exported = export(&a, &out).unwrap();
    let mut b = empty(&dir.path().join("b.db"));
    import(&mut b, &out).unwrap();
    let events = ledger_len(&b);

    let again = import(&mut b, &out).unwrap();
    let records = exported.signing_keys
        + exported.roles
        + exported.policies
        + exported.reviews
        + exported.review_events
        + exported.releases;
    assert_eq!(
        again,
        TransferSummary {
            unchanged: exported.prompts + records,
            ..Default::default()
        }
    );
    assert_eq!(ledger_len(&b), events, "nothing was written");

    // Meanwhile in A: a new reviewer, with a new key, approves a new review of unchanged prompts.
    as_(&mut a, "root");
    a.set_role("cy", Role::Reviewer).unwrap();
    as_(&mut a, "ana");
    let review = a
        .request_review(
            "support/refund-reply",
            Some(&Ref::Number(2)),
            "production",
            "The long reply",
        )
        .unwrap();
    as_(&mut a, "cy");
    a.comment(review.number, "Reading it now", None, None)
        .unwrap();
    a.approve(review.number, "ok").unwrap();
    export(&a, &out).unwrap();
    let newer = import(&mut b, &out).unwrap();
    assert_eq!(
        (
            newer.prompts,
            newer.roles,
            newer.signing_keys,
            newer.reviews,
            newer.review_events,
            newer.releases
        ),
        (0, 1, 1, 1, 2, 0),
        "{newer:?}"
    );
    assert_eq!(newer.unchanged, exported.prompts + records);
    assert_same_review_and_release(&mut a, &mut b);
    assert!(b.verify().unwrap().problems.is_empty());
}

/// The demo, with ids and times that repeat, then one comment by ben.
fn twin(path: &Path, comment: &str) -> Registry {
    let (mut reg, _) = Registry::init(path).unwrap();
    reg.set_clock(ticking_clock());
    let mut n = 0u64;
    reg.set_id_source(Box::new(move || {
        n += 1;
        format!("00000000-0000-4000-8000-{n:012}")
    }));
    reg.set_actor("seed");
    demo::seed(&mut reg).unwrap();
    reg.set_actor("ben");
    reg.comment(1, comment, None, None).unwrap();
    reg
}

#[test]
fn the_same_id_with_different_content_is_a_conflict_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();

    // Two registries that made the same records, except one comment (same id, other text).
    let one = twin(&dir.path().join("one.db"), "Read it twice");
    let other = twin(&dir.path().join("other.db"), "Never read it");
    let (out_one, out_other) = (dir.path().join("one"), dir.path().join("other"));
    export(&one, &out_one).unwrap();
    export(&other, &out_other).unwrap();
    let mut b = empty(&dir.path().join("b.db"));
    import(&mut b, &out_one).unwrap();
    let events = ledger_len(&b);
    let line = read(&out_other, "review-events.jsonl")
        .lines()
        .position(|l| l.contains("Never read it"))
        .unwrap()
        + 1;
    let err = import(&mut b, &out_other).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Conflict(_)), "{message}");
    assert!(
        message.contains(&format!("review-events.jsonl:{line}"))
            && message.contains("\"Read it twice\" here")
            && message.contains("\"Never read it\" incoming"),
        "{message}"
    );
    assert_eq!(ledger_len(&b), events, "nothing was written");

    // A role set differently here than in the export.
    let a = team(&dir.path().join("a.db"));
    let out = dir.path().join("export");
    export(&a, &out).unwrap();
    let mut b = empty(&dir.path().join("b2.db"));
    import(&mut b, &out).unwrap();
    as_(&mut b, "root");
    b.set_role("vic", Role::Editor).unwrap();
    let events = ledger_len(&b);
    let err = import(&mut b, &out).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Conflict(_)), "{message}");
    assert!(
        message.contains("roles.jsonl:") && message.contains("vic"),
        "{message}"
    );
    assert_eq!(ledger_len(&b), events, "nothing was written");

    // A prompt of the same name with another history.
    let mut c = empty(&dir.path().join("c.db"));
    c.create_prompt(
        "support/triage",
        promptdesk_content::PromptKind::Text,
        Default::default(),
    )
    .unwrap();
    let events = ledger_len(&c);
    let err = import(&mut c, &out).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Conflict(_)), "{message}");
    assert!(message.contains("'support/triage'"), "{message}");
    assert_eq!(ledger_len(&c), events, "nothing was written");
    assert!(c.reviews(true).unwrap().is_empty());
}

#[test]
fn no_private_key_is_ever_exported() {
    let dir = tempfile::tempdir().unwrap();
    let a = team(&dir.path().join("a.db"));
    let out = dir.path().join("export");
    export(&a, &out).unwrap();

    let everything = files(&out);
    assert!(everything.len() > 10);
    for who in ["root", "ana", "ben", "rita", "vic"] {
        let seed = seed_of(who);
        let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
        for (path, bytes) in &everything {
            let text = String::from_utf8_lossy(bytes).to_lowercase();
            assert!(!text.contains(&hex), "{who}'s private key is in {path}");
            assert!(
                !bytes.windows(seed.len()).any(|w| w == seed),
                "{who}'s private key bytes are in {path}"
            );
        }
    }
    // The keys file holds public keys and nothing else.
    let keys = read(&out, "signing-keys.jsonl");
    for line in keys.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let mut fields: Vec<&String> = v.as_object().unwrap().keys().collect();
        fields.sort();
        assert_eq!(
            fields,
            ["key_id", "person", "public_key", "registered_at"],
            "{line}"
        );
    }
    let ben_public = hex_public_key("ben");
    assert!(keys.contains(&ben_public), "ben's test key is exported");
}

fn hex_public_key(who: &str) -> String {
    use promptdesk_core::signing::Sign;
    MemorySigner::from_seed(seed_of(who)).public_key()
}

#[test]
fn an_export_from_before_review_and_release_imports_as_it_always_did() {
    let dir = tempfile::tempdir().unwrap();
    let a = team(&dir.path().join("a.db"));
    let out = dir.path().join("export");
    export(&a, &out).unwrap();
    assert!(read(&out, "promptdesk-export.json").contains("promptdesk.export/2"));

    // A version 1 export: the same prompt files, no record files.
    let old = dir.path().join("old");
    copy_dir(&out, &old);
    for file in RECORD_FILES {
        std::fs::remove_file(old.join(file)).unwrap();
    }
    std::fs::write(
        old.join("promptdesk-export.json"),
        "{\n  \"format\": \"promptdesk.export/1\"\n}\n",
    )
    .unwrap();
    let mut b = empty(&dir.path().join("b.db"));
    let summary = import(&mut b, &old).unwrap();
    assert_eq!((summary.prompts, summary.reviews), (3, 0));
    assert_eq!(
        b.labels("support/refund-reply").unwrap(),
        a.labels("support/refund-reply").unwrap()
    );
    assert!(b.reviews(true).unwrap().is_empty());
    assert!(b.verify().unwrap().problems.is_empty());

    // A version 2 export that lost a file is refused, not imported without its releases.
    let partial: PathBuf = dir.path().join("partial");
    copy_dir(&out, &partial);
    std::fs::remove_file(partial.join("releases.jsonl")).unwrap();
    let mut c = empty(&dir.path().join("c.db"));
    let err = import(&mut c, &partial).unwrap_err().to_string();
    assert!(err.contains("releases.jsonl is missing"), "{err}");
    assert!(c.list(None).unwrap().is_empty());
}
