//! The one command surface the UI calls, whatever carries it.
//!
//! The desktop app exposes each command as a Tauri command (IPC); web mode (`promptdesk ui`)
//! serves the same commands as `POST /api/<command>` with a JSON body. Both call
//! [`Api::dispatch`], so a browser test exercises exactly the backend the desktop app runs.
//!
//! The list of commands is written once, in the [`commands!`] invocation below; from it come
//! the dispatcher, [`COMMANDS`] (checked against the Tauri manifest and capabilities by a
//! test) and the TypeScript map `Commands` that types the UI's `call()`.

mod error;
pub mod eval_run;
mod evals;
mod handlers;
mod incidents;
mod team_sync;
pub mod types;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use promptdesk_core::Registry;
use promptdesk_template::worker::{RenderWorker, WorkerConfig};
use serde_json::Value;

pub use error::{ApiError, ApiErrorKind};
use types::*;

/// The backend one window (or one web-mode server) talks to.
pub struct Api {
    /// The open registry, or why it could not be opened (every command then reports that, and
    /// `open_registry` can pick another file).
    registry: Mutex<Result<Registry, ApiError>>,
    /// The warm render worker; rendering untrusted templates never happens in this process.
    worker: Mutex<RenderWorker>,
    app_name: String,
    app_version: String,
    /// Where to remember the registry picked in Settings (the desktop app); `None` in web mode,
    /// where the command line says which registry to serve.
    settings_file: Option<PathBuf>,
    /// Where signing keys are kept, when a person chose it in this window (see
    /// [`Api::key_store`]).
    key_store_choice: Mutex<Option<promptdesk_keys::KeyStore>>,
    /// Where keys go when a person chooses plain files.
    key_files_dir: Option<PathBuf>,
    /// Held for the length of a sync round: rounds run one at a time.
    sync_round: Mutex<()>,
    /// Eval runs going on in this backend (each on a thread of its own).
    evals: std::sync::Arc<evals::LiveRuns>,
}

/// Where the key store in use was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyStoreSource {
    /// Nobody chose: the OS keyring.
    Default,
    /// `PROMPTDESK_KEYSTORE`.
    Environment,
    /// The desktop app's settings file (a choice made in an earlier session).
    Remembered,
    /// Chosen in this window.
    ChosenNow,
}

impl Api {
    /// Opens (creating if needed) the registry at `path`. Failing to open is not fatal: the
    /// window still starts and shows the reason.
    pub fn open(path: &Path, worker: WorkerConfig) -> Api {
        Api {
            registry: Mutex::new(open_registry(path)),
            worker: Mutex::new(RenderWorker::new(worker)),
            app_name: "Promptdesk".into(),
            app_version: env!("CARGO_PKG_VERSION").into(),
            settings_file: None,
            key_store_choice: Mutex::new(None),
            key_files_dir: promptdesk_keys::KeyStore::default_files_dir(),
            sync_round: Mutex::new(()),
            evals: Default::default(),
        }
    }

    /// Remembers the registry picked with `open_registry` in `file`, for [`remembered_registry`].
    pub fn remember_registry_in(mut self, file: PathBuf) -> Self {
        self.settings_file = Some(file);
        self
    }

    /// Where signing keys are kept: a choice made in this window, else `PROMPTDESK_KEYSTORE`,
    /// else the choice remembered in the settings file, else the OS keyring. Never a silent
    /// fallback: when the store in use does not work, signing is refused with the reason and the
    /// UI offers the choice.
    pub(crate) fn key_store(
        &self,
    ) -> Result<(promptdesk_keys::KeyStore, KeyStoreSource), ApiError> {
        use promptdesk_keys::KeyStore;
        if let Some(chosen) = lock(&self.key_store_choice).clone() {
            return Ok((chosen, KeyStoreSource::ChosenNow));
        }
        if let Some(env) =
            KeyStore::from_env_if_set().map_err(|e| ApiError::bad_input(e.to_string()))?
        {
            return Ok((env, KeyStoreSource::Environment));
        }
        let remembered = self
            .settings_file
            .as_deref()
            .and_then(|f| read_setting(f, "key_store"));
        if let Some(text) = remembered {
            let store = KeyStore::parse(&text).map_err(|e| {
                ApiError::bad_input(format!(
                    "{} (in {})",
                    e,
                    self.settings_file
                        .as_deref()
                        .unwrap_or(Path::new(""))
                        .display()
                ))
            })?;
            return Ok((store, KeyStoreSource::Remembered));
        }
        Ok((KeyStore::Os, KeyStoreSource::Default))
    }

    /// Keeps key files in `dir` when a person chooses plain files (instead of the platform's
    /// data directory).
    pub fn key_files_in(mut self, dir: PathBuf) -> Self {
        self.key_files_dir = Some(dir);
        self
    }

    pub(crate) fn key_files_dir(&self) -> Option<&Path> {
        self.key_files_dir.as_deref()
    }

    /// Whether choices made in this window outlive it (the desktop app has a settings file).
    pub(crate) fn remembers_settings(&self) -> bool {
        self.settings_file.is_some()
    }

    /// Uses `store` for signing from now on; the desktop app also remembers it.
    pub(crate) fn choose_key_store(
        &self,
        store: promptdesk_keys::KeyStore,
    ) -> Result<(), ApiError> {
        if let Some(file) = &self.settings_file {
            write_setting(file, "key_store", &store.setting())?;
        }
        *lock(&self.key_store_choice) = Some(store);
        Ok(())
    }

    /// A worker configuration that runs `exe` (a binary that handles the hidden worker
    /// argument: the `promptdesk` CLI and the desktop app both do).
    pub fn worker_config(exe: PathBuf) -> WorkerConfig {
        WorkerConfig::new(exe, vec![promptdesk_template::WORKER_ARG.into()])
    }

    /// Starts the render worker now, so the first preview does not pay for it.
    pub fn warm_up(&self) {
        let _ = lock(&self.worker).warm_up();
    }

    /// Runs `command` with its JSON arguments. Never panics: a bug becomes an `internal` error.
    pub fn dispatch(&self, command: &str, args: Value) -> Result<Value, ApiError> {
        catch_unwind(AssertUnwindSafe(|| self.dispatch_inner(command, args))).unwrap_or_else(|_| {
            Err(ApiError::internal(format!(
                "'{command}' failed unexpectedly (a bug in Promptdesk); nothing was changed"
            )))
        })
    }

    fn reg(&self) -> Result<MutexGuard<'_, Result<Registry, ApiError>>, ApiError> {
        let guard = lock(&self.registry);
        if let Err(e) = &*guard {
            return Err(e.clone());
        }
        Ok(guard)
    }

    pub(crate) fn evals_handle(&self) -> std::sync::Arc<evals::LiveRuns> {
        self.evals.clone()
    }

    /// Runs `f` on the open registry.
    fn with<T>(&self, f: impl FnOnce(&mut Registry) -> Result<T, ApiError>) -> Result<T, ApiError> {
        let mut guard = self.reg()?;
        match &mut *guard {
            Ok(reg) => f(reg),
            Err(e) => Err(e.clone()),
        }
    }
}

/// The registry last picked in Settings, as remembered in `settings_file` (a missing or
/// unreadable file means none).
pub fn remembered_registry(settings_file: &Path) -> Option<PathBuf> {
    read_setting(settings_file, "registry").map(PathBuf::from)
}

/// One string setting from the settings file; a missing or unreadable file means none.
fn read_setting(settings_file: &Path, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(settings_file).ok()?;
    let value: Value = serde_json::from_str(&text).ok()?;
    value
        .get(key)?
        .as_str()
        .filter(|p| !p.is_empty())
        .map(str::to_string)
}

/// Sets one setting, keeping the others.
fn write_setting(settings_file: &Path, key: &str, value: &str) -> Result<(), ApiError> {
    let fail = |e: std::io::Error| {
        ApiError::internal(format!(
            "could not remember the {key} setting in {}: {e}",
            settings_file.display()
        ))
    };
    if let Some(dir) = settings_file.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut all = std::fs::read_to_string(settings_file)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Map<String, Value>>(&t).ok())
        .unwrap_or_default();
    all.insert(key.into(), Value::String(value.into()));
    let text = serde_json::to_string_pretty(&all).map_err(|e| ApiError::internal(e.to_string()))?;
    // Write then rename, so a crash never leaves a half-written settings file.
    let tmp = settings_file.with_extension("json.tmp");
    std::fs::write(&tmp, text).map_err(fail)?;
    std::fs::rename(&tmp, settings_file).map_err(fail)
}

fn remember_registry(settings_file: &Path, registry: &Path) -> Result<(), ApiError> {
    write_setting(settings_file, "registry", &registry.to_string_lossy())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock was already turned into an error for its caller; the data
    // behind it (a connection, a worker handle) is still usable.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn open_registry(path: &Path) -> Result<Registry, ApiError> {
    let (mut reg, _) = Registry::init(path).map_err(ApiError::from)?;
    let actor = promptdesk_core::acting_person(&reg);
    reg.set_actor(actor);
    Ok(reg)
}

fn parse_args<T: serde::de::DeserializeOwned>(command: &str, args: Value) -> Result<T, ApiError> {
    // A command without arguments may be called with nothing at all.
    let args = if args.is_null() {
        Value::Object(Default::default())
    } else {
        args
    };
    serde_json::from_value(args)
        .map_err(|e| ApiError::bad_input(format!("bad arguments for '{command}': {e}")))
}

/// Declares the commands: name, request type, response type. Generates the dispatcher, the
/// list of names and the TypeScript command map from this one list.
macro_rules! commands {
    // `$d` is a literal `$`, passed in so this macro can write another macro (below) that has
    // metavariables of its own.
    (@with_dollar ($d:tt) $( $(#[doc = $doc:literal])* $name:ident ( $req:ty ) -> $res:ty ; )*) => {
        /// Every command name, in declaration order.
        pub const COMMANDS: &[&str] = &[$(stringify!($name)),*];

        /// Calls the macro named `$callback` with every command's name, comma-separated: how
        /// the desktop shell makes one `#[tauri::command]` per command without its own list.
        #[macro_export]
        macro_rules! with_command_names {
            ($d callback:ident) => {
                $d callback! { $($name),* }
            };
        }

        impl Api {
            fn dispatch_inner(&self, command: &str, args: Value) -> Result<Value, ApiError> {
                match command {
                    $(stringify!($name) => {
                        let req: $req = parse_args(command, args)?;
                        let res: $res = handlers::$name(self, req)?;
                        serde_json::to_value(res).map_err(|e| ApiError::internal(format!(
                            "cannot encode the answer of '{command}': {e}")))
                    })*
                    _ => Err(ApiError::bad_input(format!("unknown command '{command}'"))),
                }
            }
        }

        /// The TypeScript declarations of every type the commands use, plus `Commands`: a map
        /// from command name to its request and response types.
        pub fn typescript() -> String {
            let mut out = ts::Collector::default();
            $( out.add::<$req>(); out.add::<$res>(); )*
            out.add::<ApiError>();
            let mut map = String::from("export type Commands = {\n");
            $(
                $( map.push_str(&format!("  /**{} */\n", $doc)); )*
                map.push_str(&format!(
                    "  {}: {{ req: {}; res: {} }};\n",
                    stringify!($name),
                    ts::name::<$req>(),
                    ts::name::<$res>()
                ));
            )*
            map.push_str("};\n");
            // The error taxonomy's kinds as a value, so the UI's check of a wire error's kind
            // reads the one list instead of keeping its own.
            let kinds: Vec<String> = promptdesk_protocol::ErrorKind::ALL
                .iter()
                .map(|k| format!("'{}'", k.as_str()))
                .collect();
            map.push_str(&format!(
                "\nexport const API_ERROR_KINDS: readonly ApiErrorKind[] = [{}];\n",
                kinds.join(", ")
            ));
            out.finish(&map)
        }
    };
    ($($body:tt)*) => {
        commands! { @with_dollar ($) $($body)* }
    };
}

// The one declaration of the command surface: each command's name, request and response types
// (and doc line, shown in the UI's generated types). The dispatcher, the TypeScript types, the
// Tauri shell's commands (`with_command_names!`), its app manifest and its capability (read from
// this list by src-tauri/build.rs) all come from it.
commands! {
    /// Name, version, registry and acting person of this backend.
    app_info(NoArgs) -> AppInfo;
    /// Prompts in a folder (all when none), with latest version and labels.
    list_prompts(ListPrompts) -> Vec<promptdesk_core::PromptListing>;
    /// Prompts whose name, description or current text contains the query.
    search_prompts(SearchPrompts) -> Vec<promptdesk_core::PromptListing>;
    create_prompt(CreatePrompt) -> OpenedPrompt;
    /// Everything the editor shows for one prompt.
    open_prompt(PromptName) -> OpenedPrompt;
    /// Renames or moves a prompt (refused while other prompts include it).
    rename_prompt(RenamePrompt) -> promptdesk_core::Prompt;
    update_prompt(UpdatePrompt) -> promptdesk_core::Prompt;
    /// Replaces the draft; broken templates are allowed in a draft.
    save_draft(SaveDraft) -> DraftSaved;
    /// Renders content being edited through the isolated worker.
    preview_draft(PreviewDraft) -> PreviewOutcome;
    /// The saved draft against the latest version, for the save dialog.
    draft_diff(DraftDiff) -> DiffResult;
    /// Turns the draft into a new immutable version.
    commit_version(CommitVersion) -> promptdesk_core::Version;
    history(History) -> HistoryPage;
    get_version(GetVersion) -> promptdesk_core::Version;
    diff_versions(DiffVersions) -> DiffResult;
    save_sample(SaveSample) -> promptdesk_core::Samples;
    delete_sample(DeleteSample) -> promptdesk_core::Samples;
    get_settings(NoArgs) -> Settings;
    set_identity(SetIdentity) -> Settings;
    /// Switches this window to another registry file (created when missing).
    open_registry(OpenRegistry) -> Settings;
    /// Review requests, newest first (open ones unless `all`).
    list_reviews(ListReviews) -> Vec<promptdesk_core::release::Review>;
    request_review(RequestReview) -> promptdesk_core::release::Review;
    /// A review's thread and the policy checklist as of now.
    review_detail(ReviewNumber) -> promptdesk_core::release::ReviewDetail;
    comment_review(CommentReview) -> promptdesk_core::release::ReviewEvent;
    /// Approve (signed, bound to the content hash), request changes, or close.
    decide_review(DecideReview) -> promptdesk_core::release::ReviewEvent;
    /// The policy checklist for releasing a version to a label now.
    check_release(CheckRelease) -> promptdesk_core::policy::Decision;
    /// Promotes a version under the label's policy (signed, compare-and-swap).
    release_version(ReleaseVersion) -> promptdesk_core::release::Release;
    /// Releases several prompts together: every item passes its policy and moves, or none does.
    release_bundle(ReleaseBundle) -> Vec<promptdesk_core::release::Release>;
    /// Moves a label back to its previous release (or `to`), with a reason.
    rollback_label(RollbackLabel) -> promptdesk_core::release::Release;
    /// What a rollback would do now: the version it goes back to and the policy's checklist.
    check_rollback(CheckRollback) -> promptdesk_core::release::RollbackCheck;
    /// What each label serves and every release and rollback.
    list_releases(ListReleases) -> ReleaseTimeline;
    policy_of_label(LabelName) -> PolicyOfLabel;
    /// Changes a label's release policy (admins only).
    set_policy(SetPolicy) -> PolicyOfLabel;
    /// Every label with a stored policy (protected labels included), by name.
    list_policies(NoArgs) -> Vec<PolicyOfLabel>;
    /// Proves the key store works for the acting person (the start-up canary).
    check_signing_key(NoArgs) -> KeyStatus;
    /// Chooses where signing keys are kept (the desktop app remembers it), then checks it.
    choose_key_store(ChooseKeyStore) -> KeyStatus;
    /// Everyone's signing keys: whose, since when, who pushed them, and which are revoked.
    list_signing_keys(NoArgs) -> Vec<promptdesk_core::signing_keys::SigningKey>;
    /// Moves the acting person to a new signing key (kept in the key store) and revokes the old.
    rotate_signing_key(NoArgs) -> promptdesk_core::signing_keys::KeyRotation;
    /// Revokes a signing key (its owner, or an admin): nothing it signed counts any more.
    revoke_signing_key(RevokeSigningKey) -> promptdesk_core::signing_keys::SigningKey;
    /// Where this registry stands with the team's server (whether a token is kept, never it).
    sync_status(NoArgs) -> SyncStatus;
    /// Checks the token with the server, then keeps it in the key store and the URL here.
    set_remote(SetRemote) -> RemoteSet;
    /// Forgets the token kept for the team's server.
    forget_remote(NoArgs) -> SyncStatus;
    /// One sync round (push, pull, check); being offline is an outcome, not an error.
    sync_now(NoArgs) -> SyncOutcome;
    /// The test suites of a prompt.
    list_suites(PromptName) -> Vec<promptdesk_core::eval::Suite>;
    get_suite(SuiteRef) -> promptdesk_core::eval::SuiteDetail;
    create_suite(CreateSuite) -> promptdesk_core::eval::SuiteDetail;
    /// Adds cases at the end of a suite (all or nothing).
    add_cases(AddCases) -> promptdesk_core::eval::SuiteDetail;
    /// Adds the cases of a CSV or JSONL file (the ledger records where they came from).
    import_cases(ImportCases) -> promptdesk_core::eval::SuiteDetail;
    update_case(UpdateCase) -> promptdesk_core::eval::Case;
    remove_case(CaseRef) -> promptdesk_core::eval::SuiteDetail;
    /// Reads an assertion's short form (`contains: refund`), or says what is wrong with it.
    parse_assertion(ParseAssertion) -> promptdesk_core::eval::Assertion;
    /// Model providers, and whether an API key is kept for each (never the key).
    list_providers(NoArgs) -> Vec<ProviderInfo>;
    /// Adds or changes a provider; an API key given goes to the key store.
    set_provider(SetProvider) -> Vec<ProviderInfo>;
    remove_provider(PromptName) -> Vec<ProviderInfo>;
    /// Starts a suite run on a version in the background; answers with the run at once.
    start_eval(StartEval) -> promptdesk_core::eval::EvalRun;
    /// A run's counters as they stand, and what is in flight.
    eval_status(RunId) -> EvalProgress;
    /// Stops a run; what finished stays recorded.
    cancel_eval(RunId) -> EvalProgress;
    list_runs(ListRuns) -> Vec<promptdesk_core::eval::EvalRun>;
    run_results(RunResults) -> Vec<promptdesk_core::eval::CaseResult>;
    /// Versions × cases of a suite from each version's latest run, with word diffs.
    compare_versions(CompareVersions) -> promptdesk_core::eval::Comparison;
    /// Rates a version's output for a case (good, or bad with a comment).
    rate_output(RateOutput) -> promptdesk_core::eval::Rating;
    /// A version's latest runs and everyone's ratings: what its review shows.
    version_evals(GetVersion) -> promptdesk_core::eval::VersionEvals;
    /// Incidents, newest first (open ones unless `all`).
    list_incidents(ListIncidents) -> Vec<promptdesk_core::incidents::Incident>;
    /// Opens an incident on a label's release (the latest one unless named).
    open_incident(promptdesk_core::incidents::NewIncident) -> promptdesk_core::incidents::IncidentDetail;
    /// An incident with its releases, blast radius and timeline.
    incident_detail(IncidentId) -> promptdesk_core::incidents::IncidentDetail;
    update_incident(UpdateIncident) -> promptdesk_core::incidents::IncidentDetail;
    add_incident_note(AddIncidentNote) -> promptdesk_core::incidents::IncidentDetail;
    /// Rolls the incident's label back to what the suspected release replaced (signed).
    incident_rollback(IncidentRollback) -> IncidentRolledBack;
    get_postmortem(IncidentId) -> promptdesk_core::incidents::Postmortem;
    save_postmortem(SavePostmortem) -> promptdesk_core::incidents::Postmortem;
    /// Adds the inputs that exposed the problem as cases of the prompt's suite.
    add_regression_cases(AddRegressionCases) -> Vec<promptdesk_core::eval::Case>;
    /// The postmortem as Markdown, with a file name to save it under.
    export_postmortem(IncidentId) -> MarkdownExport;
    /// Corrective actions not done yet (overdue first).
    open_actions(NoArgs) -> Vec<promptdesk_core::incidents::OpenAction>;
}

mod ts {
    //! Collects the TypeScript declarations of a set of types and everything they reference.

    use std::any::TypeId;
    use std::collections::{BTreeMap, HashSet};

    use ts_rs::{Config, TypeVisitor, TS};

    fn config() -> Config {
        // JSON numbers, not bigint: no id or count we send comes near 2^53.
        Config::new().with_large_int("number")
    }

    pub fn name<T: TS>() -> String {
        T::name(&config())
    }

    #[derive(Default)]
    pub struct Collector {
        seen: HashSet<TypeId>,
        decls: BTreeMap<String, String>,
    }

    impl Collector {
        pub fn add<T: TS + 'static + ?Sized>(&mut self) {
            let cfg = config();
            // Recursive types (JSON values, trees) would otherwise be visited forever.
            if !self.seen.insert(TypeId::of::<T>()) {
                return;
            }
            // Declarable types are the ones ts-rs would write to a file of their own.
            if T::output_path().is_some() {
                self.decls.insert(T::ident(&cfg), T::decl(&cfg));
            }
            T::visit_dependencies(self);
            T::visit_generics(self);
        }

        pub fn finish(self, commands: &str) -> String {
            let mut out = String::from(
                "// Generated by `cargo run -p promptdesk-api --bin promptdesk-gen-ts` from the Rust\n\
                 // types in src-tauri/crates. Do not edit: change the Rust types instead.\n\n",
            );
            for decl in self.decls.values() {
                out.push_str("export ");
                out.push_str(decl);
                out.push_str("\n\n");
            }
            out.push_str(commands);
            out
        }
    }

    impl TypeVisitor for Collector {
        fn visit<T: TS + 'static + ?Sized>(&mut self) {
            self.add::<T>();
        }
    }
}
