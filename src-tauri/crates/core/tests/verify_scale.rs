//! `verify` on a registry with thousands of versions, every one made through the registry (so
//! the ledger has them all): one pass over the ledger and one read of each table, whatever the
//! size. Prints how long building and verifying took; the bound asserted is loose on purpose
//! (debug build, shared machine): it catches a replay that re-queries per row, not a slow day.

use std::time::Instant;

use promptdesk_content::{Body, ModelSettings, PromptKind};
use promptdesk_core::policy::Role;
use promptdesk_core::release::ReleaseRequest;
use promptdesk_core::signing::MemorySigner;
use promptdesk_core::{DraftContent, NewPrompt, Ref, Registry};

const PROMPTS: usize = 20;
const VERSIONS: u32 = 150;

fn as_(reg: &mut Registry, who: &str, seed: u8) {
    reg.set_actor(who);
    reg.set_signer(Box::new(MemorySigner::from_seed([seed; 32])));
}

#[test]
fn thousands_of_versions_verify_in_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let (mut reg, _) = Registry::init(&dir.path().join("registry.db")).unwrap();
    as_(&mut reg, "root", 1);
    reg.set_role("root", Role::Admin).unwrap();
    reg.set_role("ana", Role::Editor).unwrap();
    reg.set_role("ben", Role::Reviewer).unwrap();
    reg.set_role("rita", Role::Releaser).unwrap();
    let started = Instant::now();
    reg.batch(|reg| {
        for i in 0..PROMPTS {
            let name = format!("team/prompt-{i:02}");
            as_(reg, "ana", 2);
            reg.create_prompt(&name, PromptKind::Text, NewPrompt::default())?;
            for v in 1..=VERSIONS {
                as_(reg, "ana", 2);
                let content = DraftContent {
                    body: Body::Text {
                        template: format!("Hello {{{{ name }}}}, answer {v} of prompt {i}."),
                    },
                    variables: vec![],
                    model: ModelSettings::default(),
                };
                reg.save_draft(&name, content)?;
                reg.commit(&name, &format!("revision {v}"))?;
                if v % 10 == 0 {
                    reg.set_label(&name, Some(&Ref::Number(v)), "staging", "try it")?;
                }
                if v % 50 == 0 {
                    let review =
                        reg.request_review(&name, Some(&Ref::Number(v)), "production", "")?;
                    as_(reg, "ben", 3);
                    reg.approve(review.number, "ok")?;
                    as_(reg, "rita", 4);
                    reg.release(
                        &name,
                        Some(&Ref::Number(v)),
                        "production",
                        ReleaseRequest {
                            changelog: "ship it",
                            ..Default::default()
                        },
                    )?;
                }
            }
        }
        Ok(())
    })
    .unwrap();
    let built = started.elapsed();
    let started = Instant::now();
    let report = reg.verify().unwrap();
    let verified = started.elapsed();
    println!(
        "{} versions, {} ledger entries: built in {built:?}, verified in {verified:?}",
        report.versions, report.ledger_entries
    );
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    assert_eq!(report.versions, PROMPTS as u64 * VERSIONS as u64);
    assert!(
        verified.as_secs() < 60,
        "verify took {verified:?} for {} versions",
        report.versions
    );
}
