//! One function per command, each a thin layer over the registry, the render worker and the
//! diff crate. Registry locks are held for the registry work only: rendering happens after the
//! request is built, under the worker's own lock.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use promptdesk_content::{Body, PromptKind, Rendered, VersionContent};
use promptdesk_core::{
    parse_spec, DraftContent, NewPrompt, Prompt, PromptListing, Ref, Registry, RenderTarget,
    Samples, Version,
};
use promptdesk_diff::{diff_rendered, diff_versions as diff_contents, DiffOptions};
use promptdesk_template::{RenderRequest, TemplateError};

use crate::types::*;
use crate::{lock, Api, ApiError};

pub use crate::evals::{
    add_cases, cancel_eval, compare_versions, create_suite, eval_status, get_suite, import_cases,
    list_providers, list_runs, list_suites, parse_assertion, rate_output, remove_case,
    remove_provider, run_results, set_provider, start_eval, update_case, version_evals,
};
pub use crate::incidents::{
    add_incident_note, add_regression_cases, export_postmortem, get_postmortem, incident_detail,
    incident_rollback, list_incidents, open_actions, open_incident, save_postmortem,
    update_incident,
};
pub use crate::team_sync::{forget_remote, set_remote, sync_now, sync_status};

type R<T> = Result<T, ApiError>;

/// History pages are capped so one call stays fast on a long history.
const MAX_HISTORY_PAGE: u32 = 500;

pub fn app_info(api: &Api, _: NoArgs) -> R<AppInfo> {
    let guard = lock(&api.registry);
    let (registry_path, actor, identity) = match &*guard {
        Ok(reg) => (
            reg.path().display().to_string(),
            reg.actor().to_string(),
            reg.identity()?,
        ),
        Err(e) => return Err(e.clone()),
    };
    let role = match &*guard {
        Ok(reg) => reg.role_of(reg.actor())?,
        Err(e) => return Err(e.clone()),
    };
    Ok(AppInfo {
        role,
        name: api.app_name.clone(),
        version: api.app_version.clone(),
        content_format: promptdesk_content::CANONICAL_FORMAT.into(),
        registry_path,
        actor,
        identity,
    })
}

pub fn list_prompts(api: &Api, req: ListPrompts) -> R<Vec<PromptListing>> {
    api.with(|reg| Ok(reg.list(req.folder.as_deref().filter(|f| !f.is_empty()))?))
}

pub fn search_prompts(api: &Api, req: SearchPrompts) -> R<Vec<PromptListing>> {
    let limit = req.limit.unwrap_or(200).clamp(1, 1000) as usize;
    api.with(|reg| Ok(reg.search(&req.query, limit)?))
}

pub fn create_prompt(api: &Api, req: CreatePrompt) -> R<OpenedPrompt> {
    api.with(|reg| {
        reg.create_prompt(
            req.name.trim(),
            req.kind,
            NewPrompt {
                description: req.description.unwrap_or_default(),
                tags: req.tags.unwrap_or_default(),
                draft: Some(starter_content(req.kind)),
                samples: Samples::new(),
            },
        )?;
        opened(reg, req.name.trim())
    })
}

/// What a new prompt starts with: one empty message for chat, so there is something to type in.
fn starter_content(kind: PromptKind) -> DraftContent {
    let mut content = DraftContent::empty(kind);
    if let Body::Chat { messages } = &mut content.body {
        if messages.is_empty() {
            messages.push(promptdesk_content::ChatMessage {
                role: "system".into(),
                template: String::new(),
            });
        }
    }
    content
}

pub fn open_prompt(api: &Api, req: PromptName) -> R<OpenedPrompt> {
    api.with(|reg| opened(reg, &req.name))
}

fn opened(reg: &Registry, name: &str) -> R<OpenedPrompt> {
    let prompt = reg.prompt(name)?;
    let draft = reg.draft(name)?;
    let latest = reg.version_count(name)?;
    let latest = (latest > 0).then_some(latest);
    let has_changes = match latest {
        None => true,
        Some(_) => {
            let v = reg.resolve(name, None)?;
            DraftContent::from_version(&v.content) != draft.content
        }
    };
    let analysis = reg.analyse(name, &draft.content)?;
    Ok(OpenedPrompt {
        labels: reg.labels(name)?,
        samples: reg.samples(name)?,
        included_by: reg.included_by(name)?,
        prompt,
        draft,
        has_changes,
        analysis,
        latest,
    })
}

pub fn rename_prompt(api: &Api, req: RenamePrompt) -> R<Prompt> {
    api.with(|reg| Ok(reg.rename_prompt(&req.name, req.new_name.trim())?))
}

pub fn update_prompt(api: &Api, req: UpdatePrompt) -> R<Prompt> {
    api.with(|reg| Ok(reg.update_prompt(&req.name, req.description.trim(), &req.tags)?))
}

pub fn save_draft(api: &Api, req: SaveDraft) -> R<DraftSaved> {
    api.with(|reg| {
        let draft = reg.save_draft(&req.name, req.content)?;
        let has_changes = match reg.version_count(&req.name)? {
            0 => true,
            _ => {
                let v = reg.resolve(&req.name, None)?;
                DraftContent::from_version(&v.content) != draft.content
            }
        };
        Ok(DraftSaved {
            updated_at: draft.updated_at,
            has_changes,
            analysis: reg.analyse(&req.name, &draft.content)?,
        })
    })
}

pub fn preview_draft(api: &Api, req: PreviewDraft) -> R<PreviewOutcome> {
    let (analysis, request) = api.with(|reg| {
        let analysis = reg.analyse(&req.name, &req.content)?;
        let request = reg.render_request(
            RenderTarget::Content {
                name: &req.name,
                content: &req.content,
            },
            &req.inputs,
        );
        Ok((analysis, request))
    })?;
    let request = match request {
        Ok(r) => r,
        Err(promptdesk_core::Error::Template(error)) => {
            return Ok(PreviewOutcome {
                rendered: None,
                error: Some(error),
                analysis,
                render_ms: 0.0,
            })
        }
        Err(e) => return Err(e.into()),
    };
    let started = Instant::now();
    let result = render(api, &request);
    let render_ms = started.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok(rendered) => Ok(PreviewOutcome {
            rendered: Some(rendered),
            error: None,
            analysis,
            render_ms,
        }),
        Err(error) if error.kind == promptdesk_template::ErrorKind::WorkerFailed => {
            Err(error.into())
        }
        Err(error) => Ok(PreviewOutcome {
            rendered: None,
            error: Some(error),
            analysis,
            render_ms,
        }),
    }
}

fn render(api: &Api, request: &RenderRequest) -> Result<Rendered, TemplateError> {
    lock(&api.worker).render(request)
}

/// One side of a diff: what to render it as, its content, and how to call it.
enum Side {
    Nothing(PromptKind),
    Draft(VersionContent),
    Version(Box<Version>),
}

impl Side {
    fn content(&self) -> VersionContent {
        match self {
            Side::Nothing(kind) => VersionContent {
                body: Body::empty(*kind),
                variables: Vec::new(),
                model: Default::default(),
                includes: BTreeMap::new(),
            },
            Side::Draft(c) => c.clone(),
            Side::Version(v) => v.content.clone(),
        }
    }

    fn label(&self, name: &str) -> String {
        match self {
            Side::Nothing(_) => "(nothing yet)".into(),
            Side::Draft(_) => format!("{name}@draft"),
            Side::Version(v) => format!("{name}@{}", v.number),
        }
    }
}

fn side(reg: &Registry, name: &str, reference: &str) -> R<Side> {
    let (_, parsed) = parse_spec(&format!("{name}@{}", reference.trim()))?;
    Ok(match parsed {
        None => Side::Version(Box::new(reg.resolve(name, None)?)),
        Some(Ref::Draft) => Side::Draft(reg.draft_as_version_content(name)?),
        Some(r) => Side::Version(Box::new(reg.resolve(name, Some(&r))?)),
    })
}

pub fn draft_diff(api: &Api, req: DraftDiff) -> R<DiffResult> {
    let (old, new) = api.with(|reg| {
        let old = if reg.version_count(&req.name)? == 0 {
            Side::Nothing(reg.prompt(&req.name)?.kind)
        } else {
            Side::Version(Box::new(reg.resolve(&req.name, None)?))
        };
        Ok((old, Side::Draft(reg.draft_as_version_content(&req.name)?)))
    })?;
    diff_sides(api, &req.name, old, new, req.inputs)
}

pub fn diff_versions(api: &Api, req: DiffVersions) -> R<DiffResult> {
    let (old, new) = api.with(|reg| {
        let old = match &req.old {
            Some(old) => side(reg, &req.name, old)?,
            None => Side::Nothing(reg.prompt(&req.name)?.kind),
        };
        Ok((old, side(reg, &req.name, &req.new)?))
    })?;
    diff_sides(api, &req.name, old, new, req.inputs)
}

fn diff_sides(
    api: &Api,
    name: &str,
    old: Side,
    new: Side,
    inputs: Option<Inputs>,
) -> R<DiffResult> {
    let opts = DiffOptions::default();
    let mut diff = diff_contents(&old.content(), &new.content(), &opts);
    let mut render_error = None;
    if let Some(inputs) = inputs {
        match (
            render_side(api, name, &old, &inputs),
            render_side(api, name, &new, &inputs),
        ) {
            (Ok(a), Ok(b)) => diff = diff.with_rendered(diff_rendered(&a, &b, &opts)),
            (Err(e), _) | (_, Err(e)) => match e.kind {
                crate::ApiErrorKind::InvalidTemplate => {
                    render_error = e
                        .details
                        .and_then(|d| serde_json::from_value::<TemplateError>(d).ok())
                }
                _ => return Err(e),
            },
        }
    }
    Ok(DiffResult {
        old_label: old.label(name),
        new_label: new.label(name),
        diff,
        render_error,
    })
}

fn render_side(api: &Api, name: &str, side: &Side, inputs: &Inputs) -> R<Rendered> {
    let request = match side {
        Side::Nothing(kind) => {
            return Ok(match kind {
                PromptKind::Text => Rendered::Text {
                    text: String::new(),
                },
                PromptKind::Chat => Rendered::Chat {
                    messages: Vec::new(),
                },
            })
        }
        Side::Draft(_) => {
            api.with(|reg| Ok(reg.render_request(RenderTarget::Draft(name), inputs)?))?
        }
        Side::Version(v) => {
            api.with(|reg| Ok(reg.render_request(RenderTarget::Version(v), inputs)?))?
        }
    };
    Ok(render(api, &request)?)
}

pub fn commit_version(api: &Api, req: CommitVersion) -> R<Version> {
    api.with(|reg| Ok(reg.commit(&req.name, &req.message)?))
}

pub fn history(api: &Api, req: History) -> R<HistoryPage> {
    let limit = req.limit.unwrap_or(100).clamp(1, MAX_HISTORY_PAGE) as usize;
    api.with(|reg| {
        Ok(HistoryPage {
            versions: reg.history(&req.name, req.before, limit)?,
            total: reg.version_count(&req.name)?,
        })
    })
}

pub fn get_version(api: &Api, req: GetVersion) -> R<Version> {
    api.with(|reg| match side(reg, &req.name, &req.reference)? {
        Side::Version(v) => Ok(*v),
        _ => Err(ApiError::bad_input(format!(
            "'{}' names the draft, not a version of '{}'",
            req.reference, req.name
        ))),
    })
}

pub fn save_sample(api: &Api, req: SaveSample) -> R<Samples> {
    api.with(|reg| {
        reg.save_sample(&req.name, req.sample.trim(), &req.inputs)?;
        Ok(reg.samples(&req.name)?)
    })
}

pub fn delete_sample(api: &Api, req: DeleteSample) -> R<Samples> {
    api.with(|reg| {
        reg.delete_sample(&req.name, &req.sample)?;
        Ok(reg.samples(&req.name)?)
    })
}

pub fn get_settings(api: &Api, _: NoArgs) -> R<Settings> {
    api.with(|reg| settings(reg))
}

fn settings(reg: &Registry) -> R<Settings> {
    Ok(Settings {
        identity: reg.identity()?,
        actor: reg.actor().to_string(),
        registry_path: reg.path().display().to_string(),
    })
}

pub fn set_identity(api: &Api, req: SetIdentity) -> R<Settings> {
    api.with(|reg| {
        reg.set_identity(&promptdesk_core::Identity {
            name: req.name,
            email: req.email,
        })?;
        let actor = promptdesk_core::acting_person(reg);
        reg.set_actor(actor);
        settings(reg)
    })
}

pub fn open_registry(api: &Api, req: OpenRegistry) -> R<Settings> {
    let path = req.path.trim();
    if path.is_empty() {
        return Err(ApiError::bad_input("give the path of a registry file"));
    }
    // Open the new one before letting go of the old, so a bad path changes nothing.
    let reg = crate::open_registry(Path::new(path))?;
    let out = settings(&reg)?;
    let absolute = std::path::absolute(reg.path()).unwrap_or_else(|_| reg.path().to_path_buf());
    *lock(&api.registry) = Ok(reg);
    if let Some(file) = &api.settings_file {
        crate::remember_registry(file, &absolute)?;
    }
    Ok(out)
}

// ---- review and release ---------------------------------------------------------------------

use promptdesk_core::policy::Decision;
use promptdesk_core::release::{
    Release, ReleaseRequest, Review, ReviewDetail, ReviewEvent, RollbackCheck, RollbackRequest,
};
use promptdesk_core::signing_keys::{KeyRotation, SigningKey};

fn reference(text: &str) -> R<Ref> {
    Ok(Ref::parse(text.trim())?)
}

/// Sets up the acting person's signing key from the key store in use (see [`Api::key_store`]);
/// refuses with the reason when it does not work.
pub(crate) fn with_signer(store: &promptdesk_keys::KeyStore, reg: &mut Registry) -> R<()> {
    let signer = store
        .signer_for(reg.actor())
        .map_err(|e| ApiError::new(crate::ApiErrorKind::PolicyRefused, e.to_string()))?;
    reg.set_signer(Box::new(signer));
    Ok(())
}

pub fn list_reviews(api: &Api, req: ListReviews) -> R<Vec<Review>> {
    api.with(|reg| Ok(reg.reviews(req.all.unwrap_or(false))?))
}

pub fn request_review(api: &Api, req: RequestReview) -> R<Review> {
    let r = reference(&req.reference)?;
    api.with(|reg| {
        Ok(reg.request_review(&req.name, Some(&r), req.label.trim(), &req.description)?)
    })
}

pub fn review_detail(api: &Api, req: ReviewNumber) -> R<ReviewDetail> {
    api.with(|reg| Ok(reg.review_detail(req.number)?))
}

pub fn comment_review(api: &Api, req: CommentReview) -> R<ReviewEvent> {
    api.with(|reg| {
        Ok(reg.comment(
            req.number,
            &req.body,
            req.anchor.as_ref(),
            req.reply_to.as_deref(),
        )?)
    })
}

pub fn decide_review(api: &Api, req: DecideReview) -> R<ReviewEvent> {
    let (store, _) = api.key_store()?;
    api.with(|reg| {
        Ok(match req.decision {
            ReviewDecision::Approve => {
                with_signer(&store, reg)?;
                reg.approve(req.number, &req.body)?
            }
            ReviewDecision::RequestChanges => {
                with_signer(&store, reg)?;
                reg.request_changes(req.number, &req.body)?
            }
            ReviewDecision::Close => reg.close_review(req.number, &req.body)?,
        })
    })
}

pub fn check_release(api: &Api, req: CheckRelease) -> R<Decision> {
    let r = reference(&req.reference)?;
    api.with(|reg| {
        let v = reg.resolve(&req.name, Some(&r))?;
        Ok(reg.decide(&v, req.label.trim(), &req.changelog, false)?)
    })
}

pub fn release_version(api: &Api, req: ReleaseVersion) -> R<Release> {
    let r = reference(&req.reference)?;
    let expect = req.expect_from.as_deref().map(reference).transpose()?;
    let (store, _) = api.key_store()?;
    api.with(|reg| {
        with_signer(&store, reg)?;
        Ok(reg.release(
            &req.name,
            Some(&r),
            req.label.trim(),
            ReleaseRequest {
                changelog: &req.changelog,
                expect_from: expect.as_ref(),
                review: req.review,
            },
        )?)
    })
}

pub fn release_bundle(api: &Api, req: ReleaseBundle) -> R<Vec<Release>> {
    let (store, _) = api.key_store()?;
    api.with(|reg| {
        with_signer(&store, reg)?;
        Ok(reg.release_bundle(&req.items, &req.changelog)?)
    })
}

pub fn rollback_label(api: &Api, req: RollbackLabel) -> R<Release> {
    let to = req.to.as_deref().map(reference).transpose()?;
    let expect = req.expect_from.as_deref().map(reference).transpose()?;
    let (store, _) = api.key_store()?;
    api.with(|reg| {
        with_signer(&store, reg)?;
        Ok(reg.rollback(
            &req.name,
            req.label.trim(),
            RollbackRequest {
                reason: &req.reason,
                to: to.as_ref(),
                expect_from: expect.as_ref(),
            },
        )?)
    })
}

pub fn check_rollback(api: &Api, req: CheckRollback) -> R<RollbackCheck> {
    let to = req.to.as_deref().map(reference).transpose()?;
    api.with(|reg| Ok(reg.check_rollback(&req.name, req.label.trim(), &req.reason, to.as_ref())?))
}

pub fn list_releases(api: &Api, req: ListReleases) -> R<ReleaseTimeline> {
    api.with(|reg| {
        Ok(ReleaseTimeline {
            serving: reg.labels(&req.name)?,
            releases: reg.releases(&req.name, req.label.as_deref())?,
        })
    })
}

pub fn list_policies(api: &Api, _: NoArgs) -> R<Vec<PolicyOfLabel>> {
    api.with(|reg| {
        Ok(reg
            .policies()?
            .into_iter()
            .map(|(label, policy)| PolicyOfLabel {
                protected: policy.is_protected(),
                label,
                policy,
            })
            .collect())
    })
}

pub fn policy_of_label(api: &Api, req: LabelName) -> R<PolicyOfLabel> {
    api.with(|reg| {
        let policy = reg.policy(req.label.trim())?;
        Ok(PolicyOfLabel {
            protected: policy.is_protected(),
            policy,
            label: req.label.trim().to_string(),
        })
    })
}

/// Changes a label's release policy (admins only; the ledger records before and after).
pub fn set_policy(api: &Api, req: SetPolicy) -> R<PolicyOfLabel> {
    api.with(|reg| {
        let policy = reg.set_policy(req.label.trim(), &req.policy)?;
        Ok(PolicyOfLabel {
            protected: policy.is_protected(),
            policy,
            label: req.label.trim().to_string(),
        })
    })
}

pub fn check_signing_key(api: &Api, _: NoArgs) -> R<KeyStatus> {
    let (store, source) = api.key_store()?;
    api.with(|reg| Ok(key_status(api, &store, source, reg.actor())))
}

pub fn choose_key_store(api: &Api, req: ChooseKeyStore) -> R<KeyStatus> {
    use promptdesk_keys::KeyStore;
    let store = match req.store {
        KeyStoreKind::Os => KeyStore::Os,
        KeyStoreKind::Files => KeyStore::Files(
            api.key_files_dir()
                .ok_or_else(|| {
                    ApiError::bad_input(
                        "this system has no data directory for key files; set PROMPTDESK_KEYSTORE=file:DIR",
                    )
                })?
                .to_path_buf(),
        ),
    };
    api.choose_key_store(store.clone())?;
    check_signing_key(api, NoArgs {})
}

pub fn list_signing_keys(api: &Api, _: NoArgs) -> R<Vec<SigningKey>> {
    api.with(|reg| Ok(reg.signing_keys()?))
}

pub fn rotate_signing_key(api: &Api, _: NoArgs) -> R<KeyRotation> {
    use promptdesk_core::signing::{key_id, Sign};
    let (store, _) = api.key_store()?;
    api.with(|reg| {
        let (old, new) = store
            .rotate(reg.actor())
            .map_err(|e| ApiError::bad_input(e.to_string()))?;
        let old_public = old.as_ref().map(|o| o.public_key());
        reg.rotate_signing_key(old_public.as_deref(), &new.public_key())
            .map_err(|e| {
                let mut e = ApiError::from(e);
                e.message = format!(
                    "Your new key is in place and signs from now on, but the registry could not \
                     record the change{}: {}",
                    old_public
                        .as_deref()
                        .map(|p| format!(" (revoke the old key {} below)", key_id(p)))
                        .unwrap_or_default(),
                    e.message
                );
                e
            })
    })
}

pub fn revoke_signing_key(api: &Api, req: RevokeSigningKey) -> R<SigningKey> {
    api.with(|reg| Ok(reg.revoke_signing_key(&req.key_id, &req.reason)?))
}

/// The start-up canary: proves `store` works by writing, reading and removing a value, then
/// loads (or makes) the acting person's key. Only the public key's id leaves this function.
fn key_status(
    api: &Api,
    store: &promptdesk_keys::KeyStore,
    source: crate::KeyStoreSource,
    person: &str,
) -> KeyStatus {
    use crate::KeyStoreSource as S;
    use promptdesk_core::signing::{key_id, Sign};
    use promptdesk_keys::KeyStore;
    let attempt = store
        .canary()
        .and_then(|status| Ok((status, store.signer_for(person)?)));
    let (ok, message, key) = match attempt {
        Ok((status, signer)) => (true, status, Some(key_id(&signer.public_key()))),
        Err(e) => (false, e.to_string(), None),
    };
    KeyStatus {
        ok,
        message,
        key_id: key,
        store: store.describe(),
        store_kind: match store {
            KeyStore::Os => KeyStoreKind::Os,
            KeyStore::Files(_) => KeyStoreKind::Files,
        },
        decided_by: match source {
            S::Default => "default",
            S::Environment => "PROMPTDESK_KEYSTORE",
            S::Remembered => "remembered",
            S::ChosenNow => "chosen",
        }
        .into(),
        files_dir: api.key_files_dir().map(|d| d.display().to_string()),
        choice_remembered: api.remembers_settings(),
    }
}
