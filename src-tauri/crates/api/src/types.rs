//! Requests and responses of the command surface. The UI's TypeScript types are generated from
//! these (and the registry types they contain) by `promptdesk-gen-ts`; never write them by hand.

use promptdesk_content::{PromptKind, Rendered};
use promptdesk_core::{
    Draft, DraftAnalysis, DraftContent, Identity, Label, Prompt, Samples, VersionSummary,
};
use promptdesk_diff::VersionDiff;
use promptdesk_template::TemplateError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use ts_rs::TS;

/// Inputs for a render: variable name → value.
pub type Inputs = Map<String, Value>;

/// The request of a command that takes no arguments.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
pub struct NoArgs {}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct AppInfo {
    pub name: String,
    pub version: String,
    /// The canonical content format version hashes are computed over.
    pub content_format: String,
    /// The registry file this window works on.
    pub registry_path: String,
    /// Who is acting: the configured identity, `PROMPTDESK_USER`, or the OS user.
    pub actor: String,
    pub identity: Option<Identity>,
    /// The acting person's role in this registry.
    pub role: promptdesk_core::policy::Role,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
pub struct ListPrompts {
    /// Only prompts in this folder (and its subfolders); all when absent.
    #[serde(default)]
    #[ts(optional)]
    pub folder: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SearchPrompts {
    pub query: String,
    #[serde(default)]
    #[ts(optional)]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct CreatePrompt {
    pub name: String,
    pub kind: PromptKind,
    #[serde(default)]
    #[ts(optional)]
    pub description: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub tags: Option<Vec<String>>,
}

/// Names one prompt.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct PromptName {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct RenamePrompt {
    pub name: String,
    pub new_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct UpdatePrompt {
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
}

/// Everything the editor needs to open a prompt.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct OpenedPrompt {
    pub prompt: Prompt,
    pub draft: Draft,
    /// True when the draft differs from the latest version (or there is none yet).
    pub has_changes: bool,
    pub analysis: DraftAnalysis,
    pub labels: Vec<Label>,
    /// The latest version's number, if any.
    pub latest: Option<u32>,
    pub samples: Samples,
    /// Other prompts that include this one: the blast radius of changing it.
    pub included_by: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SaveDraft {
    pub name: String,
    pub content: DraftContent,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct DraftSaved {
    pub updated_at: String,
    pub has_changes: bool,
    pub analysis: DraftAnalysis,
}

/// Renders content being edited (saved or not) with the given inputs.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct PreviewDraft {
    pub name: String,
    pub content: DraftContent,
    #[serde(default)]
    pub inputs: Inputs,
}

/// A preview either renders or fails with a located error; both are normal outcomes while
/// someone is typing, so neither is an [`crate::ApiError`].
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct PreviewOutcome {
    pub rendered: Option<Rendered>,
    pub error: Option<TemplateError>,
    pub analysis: DraftAnalysis,
    /// Time spent rendering in the worker, in milliseconds.
    pub render_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct DraftDiff {
    pub name: String,
    /// Also diff the rendered output of both sides for these inputs.
    #[serde(default)]
    #[ts(optional)]
    pub inputs: Option<Inputs>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct CommitVersion {
    pub name: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct History {
    pub name: String,
    /// Versions numbered below this one (the next page); the newest when absent.
    #[serde(default)]
    #[ts(optional)]
    pub before: Option<u32>,
    #[serde(default)]
    #[ts(optional)]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct HistoryPage {
    /// Newest first.
    pub versions: Vec<VersionSummary>,
    /// How many versions the prompt has in all.
    pub total: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct GetVersion {
    pub name: String,
    /// A version number, a label, `draft`, or a hash prefix (`#3fa9c1`).
    pub reference: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct DiffVersions {
    pub name: String,
    /// The older side; when absent, nothing (everything in `new` shows as added), as when a
    /// label serves no version yet.
    #[serde(default)]
    #[ts(optional)]
    pub old: Option<String>,
    pub new: String,
    #[serde(default)]
    #[ts(optional)]
    pub inputs: Option<Inputs>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct DiffResult {
    /// `name@3`, `name@draft`, or `(nothing)` before the first version.
    pub old_label: String,
    pub new_label: String,
    pub diff: VersionDiff,
    /// Set when inputs were given but one side could not be rendered with them.
    pub render_error: Option<TemplateError>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SaveSample {
    pub name: String,
    pub sample: String,
    pub inputs: Inputs,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct DeleteSample {
    pub name: String,
    pub sample: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct Settings {
    pub identity: Option<Identity>,
    pub actor: String,
    pub registry_path: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SetIdentity {
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct OpenRegistry {
    /// A registry file; created when it does not exist.
    pub path: String,
}

// ---- review and release ---------------------------------------------------------------------

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
pub struct ListReviews {
    /// Also released and closed ones.
    #[serde(default)]
    #[ts(optional)]
    pub all: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct RequestReview {
    pub name: String,
    /// The version to release: a number, a label, or a hash prefix (`#3fa9c1`).
    pub reference: String,
    pub label: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ReviewNumber {
    pub number: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct CommentReview {
    pub number: u32,
    pub body: String,
    #[serde(default)]
    #[ts(optional)]
    pub anchor: Option<promptdesk_core::release::Anchor>,
    #[serde(default)]
    #[ts(optional)]
    pub reply_to: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    Approve,
    RequestChanges,
    Close,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct DecideReview {
    pub number: u32,
    pub decision: ReviewDecision,
    #[serde(default)]
    pub body: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ReleaseVersion {
    pub name: String,
    pub reference: String,
    pub label: String,
    pub changelog: String,
    #[serde(default)]
    #[ts(optional)]
    pub review: Option<u32>,
    /// Refuse unless the label still points at this version (what the person saw).
    #[serde(default)]
    #[ts(optional)]
    pub expect_from: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ReleaseBundle {
    /// Each prompt's version and label; an item's own changelog overrides the bundle's.
    pub items: Vec<promptdesk_core::release::BundleItem>,
    pub changelog: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct RollbackLabel {
    pub name: String,
    pub label: String,
    pub reason: String,
    #[serde(default)]
    #[ts(optional)]
    pub to: Option<String>,
    /// The version the label must still serve (compare-and-swap): what the person saw.
    #[serde(default)]
    #[ts(optional)]
    pub expect_from: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct CheckRollback {
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    #[ts(optional)]
    pub to: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ListReleases {
    pub name: String,
    #[serde(default)]
    #[ts(optional)]
    pub label: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ReleaseTimeline {
    /// Where each label points now.
    pub serving: Vec<Label>,
    /// Newest first.
    pub releases: Vec<promptdesk_core::release::Release>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct LabelName {
    pub label: String,
}

/// What the policy says about releasing a version now, for the acting person.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct CheckRelease {
    pub name: String,
    pub reference: String,
    pub label: String,
    #[serde(default)]
    pub changelog: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SetPolicy {
    pub label: String,
    pub policy: promptdesk_core::policy::Policy,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct PolicyOfLabel {
    pub label: String,
    pub policy: promptdesk_core::policy::Policy,
    /// Whether moving the label needs more than an editor's say-so (the production badge).
    pub protected: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct KeyStatus {
    /// Whether signing works here; when not, `message` says why and what to do.
    pub ok: bool,
    pub message: String,
    pub key_id: Option<String>,
    /// Where keys are kept, in words: "the OS keyring" or "plain files in DIR".
    pub store: String,
    pub store_kind: KeyStoreKind,
    /// Who decided where keys are kept: nobody (the default), the environment
    /// (`PROMPTDESK_KEYSTORE`), a choice remembered from an earlier session, or one made now.
    pub decided_by: String,
    /// Where keys would go if the person chose plain files.
    pub files_dir: Option<String>,
    /// Whether a choice made now is remembered for the next start (the desktop app).
    pub choice_remembered: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum KeyStoreKind {
    /// The OS keyring (Secret Service, Keychain, Credential Manager).
    Os,
    /// Plain files, readable only by their owner.
    Files,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ChooseKeyStore {
    pub store: KeyStoreKind,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct RevokeSigningKey {
    pub key_id: String,
    /// Why (laptop lost, left the team, …): kept with the revocation.
    pub reason: String,
}

// ---- team sync ------------------------------------------------------------------------------

/// Where this registry stands with the team's server: the header's sync pill, Settings → Team
/// server and the conflict view read it. The server token itself never appears here: only
/// whether one is kept.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SyncStatus {
    /// The server's URL, when one is set.
    pub remote: Option<String>,
    /// Whether a token for `remote` is kept in the key store (false when no server is set).
    pub token_kept: bool,
    /// Whether `PROMPTDESK_TOKEN` gives the token instead (it wins over a kept one).
    pub token_from_env: bool,
    /// Where tokens are kept, in words ("the OS keyring", "plain files in DIR").
    pub token_store: String,
    /// Why the key store could not say whether a token is kept, when it could not.
    pub token_problem: Option<String>,
    /// Changes made here that the server has not seen.
    pub pending: u64,
    /// The last server sequence number pulled.
    pub cursor: i64,
    /// Changes made here that the server refused, oldest first, with what each one tried.
    pub refused: Vec<RefusedDetail>,
    /// Everyone's changes that were pulled but could not be applied here, set aside so that
    /// the rest still arrives.
    pub set_aside: Vec<promptdesk_core::sync::inbox::SetAsideEvent>,
    /// When the last sync finished without error.
    pub last_synced_at: Option<String>,
    /// Why the last sync since then failed.
    pub last_error: Option<String>,
}

/// A refused change with what it tried, for the conflict view: for a label move, which label,
/// how (`release`, `rollback`, or `set` for a plain move) and to which version.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct RefusedDetail {
    #[serde(flatten)]
    pub change: promptdesk_core::sync::inbox::RefusedChange,
    pub label: Option<String>,
    pub move_kind: Option<String>,
    /// The version (as numbered here) the label was to point at, and the one it pointed at.
    pub to_version: Option<u32>,
    pub from_version: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SetRemote {
    /// The server, `http://` or `https://`.
    pub url: String,
    /// The person's token for it (`pdt_…`). Checked with the server first; kept in the key
    /// store, never in the registry.
    pub token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct RemoteSet {
    /// Who the token signs in as on the server, and their role there.
    pub user: String,
    pub role: String,
    /// Set when the token's user is not the person this registry acts as: the server accepts
    /// only the token user's own changes.
    pub warning: Option<String>,
    pub status: SyncStatus,
}

/// One sync round's outcome. Being offline (or refused by the server) is an outcome, not an
/// error: `ok` is false and `kind` says which (`offline`, `unauthorized`, `not_configured`,
/// `protocol`, `registry`, `keys`).
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SyncOutcome {
    pub ok: bool,
    pub kind: Option<String>,
    pub message: Option<String>,
    pub report: Option<SyncReport>,
    pub state: SyncStatus,
}

/// What one round did.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SyncReport {
    pub pushed: u64,
    /// Pushed events the server already had (a replay after an interrupted push).
    pub duplicates: u64,
    /// Changes the server refused in this round.
    pub refused: Vec<promptdesk_core::sync::inbox::RefusedChange>,
    pub pulled: u64,
    pub renumbered: u64,
    /// Labels put back where the server has them (`prompt label`).
    pub restored: Vec<String>,
    pub gap_filled: bool,
    pub cursor: i64,
}

impl From<promptdesk_sync::Report> for SyncReport {
    fn from(r: promptdesk_sync::Report) -> Self {
        SyncReport {
            pushed: r.pushed,
            duplicates: r.duplicates,
            refused: r.refused,
            pulled: r.pulled,
            renumbered: r.renumbered,
            restored: r.restored,
            gap_filled: r.gap_filled,
            cursor: r.cursor,
        }
    }
}

// ---- test suites, eval runs, comparisons, ratings ----------------------------------------------

/// One suite of one prompt.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SuiteRef {
    pub name: String,
    pub suite: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct CreateSuite {
    pub name: String,
    pub suite: String,
    #[serde(default)]
    #[ts(optional)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct AddCases {
    pub name: String,
    pub suite: String,
    pub cases: Vec<promptdesk_core::eval::CaseInput>,
    /// Create the suite when it does not exist.
    #[serde(default)]
    #[ts(optional)]
    pub create: Option<bool>,
}

/// Cases from a file the person picked: its name (for the format and the ledger) and text.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ImportCases {
    pub name: String,
    pub suite: String,
    pub file_name: String,
    pub text: String,
    #[serde(default)]
    #[ts(optional)]
    pub create: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct UpdateCase {
    pub name: String,
    pub suite: String,
    pub case_id: String,
    pub case: promptdesk_core::eval::CaseInput,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct CaseRef {
    pub name: String,
    pub suite: String,
    pub case_id: String,
}

/// An assertion in its short form (`contains: refund`, `not-regex: ^Sorry`).
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ParseAssertion {
    pub text: String,
}

/// A provider as the Settings page shows it: whether an API key is kept, never the key.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ProviderInfo {
    pub settings: promptdesk_core::eval::ProviderSettings,
    pub key_kept: bool,
    /// The key comes from the environment (`PROMPTDESK_<NAME>_API_KEY`, or `OPENAI_API_KEY` /
    /// `ANTHROPIC_API_KEY` for the built-in providers).
    pub key_from_env: bool,
    /// Why the key store could not be asked.
    pub key_problem: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SetProvider {
    pub provider: promptdesk_core::eval::ProviderSettings,
    /// A new API key to keep (in the key store, bound to this provider's URL).
    #[serde(default)]
    #[ts(optional)]
    pub api_key: Option<String>,
    /// Forget the key kept for this provider.
    #[serde(default)]
    #[ts(optional)]
    pub forget_key: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct StartEval {
    pub name: String,
    /// A version number, a label or a hash prefix.
    pub version: String,
    pub suite: String,
    /// Replaces the version's provider/model and merges parameters, for this run only (such
    /// runs do not count for the release gate).
    #[serde(default)]
    #[ts(optional)]
    pub model: Option<promptdesk_content::ModelSettings>,
    /// Requests in flight at once (8 when unset).
    #[serde(default)]
    #[ts(optional)]
    pub concurrency: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct RunId {
    pub run_id: String,
}

/// A run as it stands, with what only the process running it knows.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct EvalProgress {
    pub run: promptdesk_core::eval::EvalRun,
    /// The run is going on in this backend now (a `running` run that is not live was cut off,
    /// for example by the app being closed).
    pub live: bool,
    pub in_flight: u32,
    pub retries: u32,
    pub cancelling: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ListRuns {
    pub name: String,
    #[serde(default)]
    #[ts(optional)]
    pub suite: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub version: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct RunResults {
    pub run_id: String,
    #[serde(default)]
    #[ts(optional)]
    pub only_failures: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct CompareVersions {
    pub name: String,
    /// Versions (numbers, labels, hash prefixes); diffs are against the first.
    pub versions: Vec<String>,
    pub suite: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct RateOutput {
    pub name: String,
    pub version: String,
    pub case_id: String,
    /// `good` or `bad` (a bad rating needs a comment).
    pub rating: String,
    #[serde(default)]
    #[ts(optional)]
    pub comment: Option<String>,
}

// ---- incidents and postmortems --------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ListIncidents {
    /// Resolved ones too.
    #[serde(default)]
    #[ts(optional)]
    pub all: Option<bool>,
}

/// An incident by its id (or a prefix of at least 4 characters).
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct IncidentId {
    pub id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct UpdateIncident {
    pub id: String,
    pub change: promptdesk_core::incidents::IncidentChange,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct AddIncidentNote {
    pub id: String,
    pub text: String,
    /// When it happened (RFC 3339); now when absent.
    #[serde(default)]
    #[ts(optional)]
    pub at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct IncidentRollback {
    pub id: String,
    /// Why; the incident's title when empty.
    #[serde(default)]
    #[ts(optional)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct IncidentRolledBack {
    pub incident: promptdesk_core::incidents::Incident,
    pub release: promptdesk_core::release::Release,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct SavePostmortem {
    pub id: String,
    pub doc: promptdesk_core::incidents::PostmortemDoc,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct AddRegressionCases {
    pub id: String,
    /// The prompt's suite to add them to (created when missing).
    pub suite: String,
    pub cases: Vec<promptdesk_core::eval::CaseInput>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct MarkdownExport {
    /// A file name to save it under.
    pub file_name: String,
    pub markdown: String,
}
