//! The command line, as clap types. Every command accepts the global `--registry` and `--json`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "promptdesk",
    version,
    about = "Author prompt templates, review what changed, release them safely.",
    after_help = "Exit codes: 0 success, 1 refused (policy or conflict), 2 bad input, 3 internal error.\n\
                  REF is a version number (NAME@3), a label (NAME@production), `draft`, or a hash prefix (NAME@#3fa9c1)."
)]
pub struct Cli {
    /// The registry file [default: the platform data directory]
    #[arg(long, global = true, env = "PROMPTDESK_REGISTRY", value_name = "PATH")]
    pub registry: Option<PathBuf>,

    /// Print machine-readable JSON (errors too, as {"error": {kind, message, details}})
    #[arg(long, global = true)]
    pub json: bool,

    /// When to colour diffs
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    Text,
    Chat,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create the registry (does nothing if it already exists)
    Init,
    /// Fill an empty registry with the demo prompts
    Demo,
    /// Show or set who you are (recorded as the author of what you do)
    Identity {
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        email: Option<String>,
    },
    /// Create a prompt
    New {
        name: String,
        #[arg(long, value_enum)]
        kind: Option<KindArg>,
        /// Start from a prompt file (front matter + template or messages)
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
    },
    /// Replace a prompt's draft with the content of a prompt file
    Draft {
        name: String,
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
    },
    /// Check a draft: syntax errors, includes, undeclared and unused variables
    Check { name: String },
    /// Turn the draft into a new immutable version
    Commit {
        name: String,
        /// What changed and why
        #[arg(short = 'm', long = "message")]
        message: String,
    },
    /// List prompts (in a folder)
    List { folder: Option<String> },
    /// Find prompts whose name, description or text contains QUERY
    Search {
        query: String,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// A prompt's versions, newest first
    Log {
        name: String,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Show versions numbered below this one (the next page)
        #[arg(long)]
        before: Option<u32>,
    },
    /// Show a prompt (its draft) or one version as a prompt file
    Show {
        /// NAME or NAME@REF
        spec: String,
    },
    /// Render a prompt's draft or a version with inputs
    Render {
        /// NAME (the draft) or NAME@REF
        spec: String,
        #[command(flatten)]
        inputs: InputArgs,
    },
    /// What changed between two versions (or a version and the draft)
    Diff {
        /// NAME@REF
        old: String,
        /// NAME@REF
        new: String,
        /// Also diff the rendered output of both for the same inputs
        #[arg(long)]
        rendered: bool,
        #[command(flatten)]
        inputs: InputArgs,
    },
    /// Point a label at a version
    Label {
        /// NAME@REF
        spec: String,
        label: String,
        /// Why (kept in the label's history)
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Where a prompt's labels point, and their history
    Labels { name: String },
    /// Named sample inputs of a prompt
    Samples { name: String },
    /// Save a named sample input set
    Sample {
        name: String,
        sample: String,
        #[command(flatten)]
        inputs: InputArgs,
    },
    /// Events recorded in the ledger
    Ledger {
        /// Only events about this prompt
        name: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Write the registry to a git-friendly folder
    Export { dir: PathBuf },
    /// Read an export into an empty registry
    Import { dir: PathBuf },
    /// Re-hash every version and walk the ledger chain
    Verify,
    /// Serve the UI to a browser on this machine (web mode); prints the URL to open
    Ui {
        /// Port on 127.0.0.1 [default: a free one]
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// The built UI [default: the repository's ui/dist]
        #[arg(long, env = "PROMPTDESK_UI_DIR", value_name = "DIR")]
        ui_dir: Option<PathBuf>,
    },
    /// Run the team's registry server: sync, runtime and Langfuse-compatible APIs
    Serve {
        /// sqlite://PATH (the default backend) or postgres://USER@HOST:PORT/DB (several
        /// replicas over one database)
        #[arg(
            long,
            env = "PROMPTDESK_DATABASE",
            default_value = "sqlite://promptdesk-server.db"
        )]
        database: String,
        /// Address to listen on
        #[arg(long, default_value = "127.0.0.1:8600")]
        addr: String,
        /// Serve HTTPS with this PEM certificate chain (the server's certificate first);
        /// needs --tls-key. Without it the server speaks plain HTTP (for this machine, or
        /// behind a reverse proxy that terminates TLS)
        #[arg(long, value_name = "PEM", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert
        #[arg(long, value_name = "PEM", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Administer a registry server's database: tokens and the roles they carry
    Server {
        /// sqlite://PATH or postgres://USER@HOST:PORT/DB
        #[arg(
            long,
            env = "PROMPTDESK_DATABASE",
            default_value = "sqlite://promptdesk-server.db"
        )]
        database: String,
        #[command(subcommand)]
        command: ServerCommand,
    },
    /// The team's registry server this registry syncs with (the token goes to the OS keyring)
    Remote {
        #[command(subcommand)]
        command: RemoteCommand,
    },
    /// Push this registry's changes to the team's server, then pull everyone else's
    Sync {
        /// Only show where this registry stands (pending changes, refusals, last sync)
        #[arg(long)]
        status: bool,
    },
    /// Review requests: ask for, discuss and decide on releasing a version to a label
    Review {
        #[command(subcommand)]
        command: ReviewCommand,
    },
    /// Promote a version to a label under the label's release policy
    Release {
        /// NAME@REF (not with --bundle)
        spec: Option<String>,
        #[arg(long)]
        label: Option<String>,
        /// The changelog: what changes for the people the prompt serves
        #[arg(
            short = 'm',
            long = "message",
            value_name = "CHANGELOG",
            default_value = ""
        )]
        message: String,
        /// Release several prompts together from a YAML/JSON list of {prompt, ref, label, changelog}
        #[arg(long, value_name = "FILE", conflicts_with_all = ["spec", "label"])]
        bundle: Option<PathBuf>,
        /// The review this release fulfils [default: the open one for this version and label]
        #[arg(long)]
        review: Option<u32>,
        /// Refuse unless the label still points at this version (compare-and-swap for scripts)
        #[arg(long, value_name = "REF")]
        expect_from: Option<String>,
    },
    /// Move a label back to its previous release (or --to an earlier version), with a reason
    Rollback {
        name: String,
        #[arg(long)]
        label: String,
        #[arg(long)]
        reason: String,
        #[arg(long, value_name = "REF")]
        to: Option<String>,
        /// Refuse unless the label still serves this version (compare-and-swap)
        #[arg(long, value_name = "REF")]
        expect_from: Option<String>,
    },
    /// Every release and rollback of a prompt, newest first
    Releases {
        name: String,
        #[arg(long)]
        label: Option<String>,
    },
    /// Release policies per label
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Who may do what: viewer < editor < reviewer < releaser < admin
    Role {
        #[command(subcommand)]
        command: RoleCommand,
    },
    /// Signing keys: `keys check` proves the keyring works; list, rotate or revoke keys
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// A prompt's test suites: add cases, import them from CSV/JSONL, list them
    Suite {
        #[command(subcommand)]
        command: SuiteCommand,
    },
    /// Model providers (OpenAI-compatible or Anthropic) the evals call; API keys go to the OS
    /// keyring
    Provider {
        #[command(subcommand)]
        command: ProviderCommand,
    },
    /// Run a test suite on a version against its model; exits 1 below --fail-under (for CI)
    Eval {
        /// NAME@REF (a version number, a label or a hash; the latest version when no @REF)
        spec: String,
        /// The suite to run (may be left out when the prompt has one suite)
        #[arg(long)]
        suite: Option<String>,
        /// Another model for this run: provider/model (such runs do not count for the release
        /// gate)
        #[arg(long, value_name = "PROVIDER/MODEL")]
        model: Option<String>,
        /// Requests in flight at once
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Exit 1 when the share of passing cases is below this (0 to 1)
        #[arg(long, value_name = "RATE")]
        fail_under: Option<f64>,
    },
    /// Runs of a prompt's suites, newest first
    Runs {
        name: String,
        #[arg(long)]
        suite: Option<String>,
        /// Only runs of this version (NAME@REF form not needed: a number, label or hash)
        #[arg(long)]
        version: Option<String>,
        /// Show one run's case results (its id or an unambiguous prefix)
        #[arg(long)]
        show: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Outputs of versions side by side per case, from each version's latest run of the suite
    Compare {
        /// NAME@A NAME@B [...]: diffs are against the first
        #[arg(required = true, num_args = 2..)]
        specs: Vec<String>,
        #[arg(long)]
        suite: Option<String>,
        /// Only the cases where the outputs differ
        #[arg(long)]
        only_differ: bool,
        /// Only the cases where some version failed
        #[arg(long)]
        only_failures: bool,
    },
    /// Rate a version's output for a case: good, or bad with a comment
    Rate {
        /// NAME@REF
        spec: String,
        /// The case's id (see `promptdesk suite show`)
        case: String,
        #[arg(value_parser = ["good", "bad"])]
        rating: String,
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Write a promptfoo config (promptfooconfig.yaml and the prompt) for a version and a suite
    ExportPromptfoo {
        /// NAME@REF
        spec: String,
        dir: PathBuf,
        #[arg(long)]
        suite: Option<String>,
    },
    /// Incidents: a production regression tied to its release, rolled back in one action
    Incident {
        #[command(subcommand)]
        command: IncidentCommand,
    },
    /// An incident's postmortem: show it, edit it from a YAML file, export it as Markdown
    Postmortem {
        /// The incident (its id or a prefix of at least 4 characters)
        id: String,
        /// Replace the written parts with this YAML file (start from `--template`)
        #[arg(long, value_name = "FILE", conflicts_with_all = ["template", "export"])]
        edit: Option<PathBuf>,
        /// Print the written parts as YAML, to edit and pass back with --edit
        #[arg(long)]
        template: bool,
        /// Print the whole postmortem in this format (md)
        #[arg(long, value_parser = ["md"])]
        export: Option<String>,
    },
    /// Corrective actions not done yet, over every postmortem (overdue first)
    Actions,
    /// The isolated render worker (started by Promptdesk itself)
    #[command(name = "__render-worker", hide = true)]
    RenderWorker,
}

#[derive(Args, Debug, Default)]
pub struct InputArgs {
    /// Inputs as a JSON object
    #[arg(long, value_name = "JSON", conflicts_with_all = ["vars_file", "sample"])]
    pub vars: Option<String>,
    /// Inputs from a JSON file
    #[arg(long, value_name = "FILE", conflicts_with = "sample")]
    pub vars_file: Option<PathBuf>,
    /// A saved sample input set
    #[arg(long, value_name = "NAME")]
    pub sample: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum ReviewCommand {
    /// Ask for NAME@REF to be released to a label
    Request {
        spec: String,
        #[arg(long)]
        label: String,
        #[arg(short = 'm', long = "message", default_value = "")]
        message: String,
    },
    /// Open reviews (all with --all), newest first
    List {
        #[arg(long)]
        all: bool,
    },
    /// A review: its thread, and the policy checklist as of now
    Show { id: u32 },
    /// Comment, optionally on a line of the template (or of message N with --in "message N")
    Comment {
        id: u32,
        #[arg(short = 'm', long = "message")]
        message: String,
        #[arg(long)]
        line: Option<u32>,
        #[arg(long = "in", value_name = "PART", default_value = "template")]
        part: String,
        /// Reply to a comment (its id)
        #[arg(long)]
        reply_to: Option<String>,
    },
    /// Approve the review's version (bound to its content hash)
    Approve {
        id: u32,
        #[arg(short = 'm', long = "message", default_value = "")]
        message: String,
    },
    /// Ask for changes before this version can ship
    RequestChanges {
        id: u32,
        #[arg(short = 'm', long = "message")]
        message: String,
    },
    /// Close a review without releasing it
    Close {
        id: u32,
        #[arg(short = 'm', long = "message", default_value = "")]
        message: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// The policy of a label (every configured label, and production, when none is named)
    Show { label: Option<String> },
    /// Change a label's policy; options not given keep their current value
    Set {
        label: String,
        #[arg(long)]
        approvals: Option<u32>,
        #[arg(long)]
        changelog_required: Option<bool>,
        /// A test suite (by name, in each prompt) whose latest run on the version must pass;
        /// "" removes the requirement
        #[arg(long)]
        suite: Option<String>,
        /// The share of the suite's cases that must pass, 0 to 1
        #[arg(long, default_value_t = 1.0)]
        min_pass_rate: f64,
        /// Also refuse when a case that passes on what the label serves now fails
        #[arg(long)]
        no_regressions: bool,
        #[arg(long, value_parser = parse_role)]
        promote_role: Option<promptdesk_core::policy::Role>,
        #[arg(long, value_parser = parse_role)]
        rollback_role: Option<promptdesk_core::policy::Role>,
        #[arg(long)]
        rollback_needs_approvals: Option<bool>,
        /// A freeze window FROM..TO (RFC 3339), optionally followed by :REASON; repeatable
        #[arg(long = "freeze", value_name = "FROM..TO[:REASON]")]
        freeze: Vec<String>,
        /// Remove every freeze window
        #[arg(long, conflicts_with = "freeze")]
        no_freeze: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum RoleCommand {
    /// Everyone's role (while none is set, everyone is an admin)
    List,
    /// Give a person a role (admins only)
    Set {
        person: String,
        #[arg(value_parser = parse_role)]
        role: promptdesk_core::policy::Role,
    },
}

fn parse_role(s: &str) -> Result<promptdesk_core::policy::Role, String> {
    promptdesk_core::policy::Role::parse(s)
        .ok_or_else(|| format!("'{s}' is not a role: viewer, editor, reviewer, releaser or admin"))
}

#[derive(Subcommand, Debug)]
pub enum ServerCommand {
    /// Server tokens: create (the secret is shown once), list, revoke
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Make a token for a person, giving them a role on the server
    Create {
        #[arg(long)]
        user: String,
        #[arg(long, value_parser = parse_role)]
        role: promptdesk_core::policy::Role,
        /// A Langfuse-style public/secret key pair (pk-lf-…/sk-lf-…) instead of a token
        #[arg(long)]
        langfuse: bool,
    },
    /// Every token (never its secret)
    List,
    /// Stop a token (by id, or a Langfuse public key) from working
    Revoke { id: String },
}

#[derive(Subcommand, Debug)]
pub enum RemoteCommand {
    /// Sync with the server at URL; asks for your token (or reads it from stdin) and keeps it
    /// in the OS keyring, never in the registry
    Set {
        url: String,
        /// Read the token from standard input instead of asking for it
        #[arg(long)]
        token_stdin: bool,
        /// Also trust the CA certificates in this PEM file (a private CA), besides the
        /// system's; kept with the remote as a path (PROMPTDESK_CA_FILE overrides it)
        #[arg(long, value_name = "PEM")]
        ca_file: Option<PathBuf>,
        /// Allow plain http:// to a host that is not this machine: the token and every change
        /// then cross the network unencrypted. Certificate checks of https:// are never off
        #[arg(long)]
        insecure: bool,
    },
    /// The server this registry syncs with, and who the kept token signs in as
    Show,
    /// Forget the kept token (the registry keeps the URL)
    Forget,
}

#[derive(Subcommand, Debug)]
pub enum SuiteCommand {
    /// The suites of a prompt
    List { name: String },
    /// A suite's cases
    Show { name: String, suite: String },
    /// Add one case (the suite is created when missing)
    Add {
        name: String,
        suite: String,
        /// A variable's value: NAME=VALUE (repeatable)
        #[arg(long = "var", value_name = "NAME=VALUE")]
        vars: Vec<String>,
        #[arg(long)]
        expected: Option<String>,
        /// An assertion in short form, e.g. "contains: 30 days" (repeatable)
        #[arg(long = "assert", value_name = "ASSERTION")]
        assertions: Vec<String>,
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Add the cases of a CSV or JSONL file (the suite is created when missing)
    Import {
        name: String,
        suite: String,
        file: PathBuf,
    },
    /// Remove a case (the ledger keeps it)
    Remove {
        name: String,
        suite: String,
        case: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProviderCommand {
    /// The configured providers and whether a key is kept for each
    List,
    /// Add or change a provider
    Set {
        name: String,
        /// openai (Chat Completions: OpenAI, Ollama, vLLM, llama.cpp, LM Studio) or anthropic
        #[arg(long, default_value = "openai")]
        kind: String,
        #[arg(long)]
        base_url: String,
        /// A model's price per million tokens: MODEL=INPUT/OUTPUT (repeatable)
        #[arg(long = "price", value_name = "MODEL=IN/OUT")]
        prices: Vec<String>,
        /// Seconds per request
        #[arg(long)]
        timeout: Option<u64>,
        /// Read an API key from standard input and keep it in the OS keyring
        #[arg(long)]
        key_stdin: bool,
    },
    /// Forget the API key kept for a provider
    ForgetKey {
        name: String,
    },
    Remove {
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum IncidentCommand {
    /// Open an incident on a prompt's label (the label's latest release is suspected)
    Open {
        /// The prompt whose label serves the regression
        name: String,
        #[arg(long)]
        title: String,
        /// SEV1 (worst) to SEV4
        #[arg(long, default_value = "SEV2")]
        severity: String,
        /// user_reports, monitoring, eval or other
        #[arg(long, default_value = "user_reports")]
        detection: String,
        /// When it was noticed (RFC 3339); now by default
        #[arg(long)]
        detected_at: Option<String>,
        #[arg(long, default_value = "production")]
        label: String,
        /// The release suspected of causing it (an id prefix; the label's latest by default)
        #[arg(long)]
        suspected: Option<String>,
        #[arg(long, default_value = "")]
        notes: String,
    },
    /// Incidents, newest first (open ones unless --all)
    List {
        #[arg(long)]
        all: bool,
    },
    /// An incident: its releases, blast radius and timeline
    Show { id: String },
    /// Roll the incident's label back to what the suspected release replaced
    Rollback {
        id: String,
        /// Why (defaults to the incident's title)
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Change an incident's title, severity, status or notes
    Update {
        id: String,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        severity: Option<String>,
        /// investigating, mitigated or resolved
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        notes: Option<String>,
    },
    /// Add a line to the incident's timeline
    Note {
        id: String,
        text: String,
        /// When it happened (RFC 3339); now by default
        #[arg(long)]
        at: Option<String>,
    },
    /// Mark the incident resolved
    Resolve { id: String },
    /// Turn inputs that exposed the problem into a regression case of the prompt's suite
    AddCase {
        id: String,
        #[arg(long, default_value = "regression")]
        suite: String,
        #[arg(long = "var", value_name = "NAME=VALUE")]
        vars: Vec<String>,
        #[arg(long = "assert", value_name = "ASSERTION")]
        assertions: Vec<String>,
        #[arg(long)]
        expected: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Prove the key store works and show your public key (made on first use)
    Check,
    /// Everyone's signing keys in this registry: whose, since when, and which are revoked
    List,
    /// Move to a new signing key: the new one is kept in the key store and registered, the old
    /// one revoked (what it signed stays signed; it signs nothing more)
    Rotate,
    /// Revoke a signing key (yours, or anyone's as an admin): nothing it signed counts in a
    /// release decision any more
    Revoke {
        /// The key's id (or the first digits of it, as `keys list` shows)
        key_id: String,
        /// Why (laptop lost, left the team, …): kept with the revocation
        #[arg(long)]
        reason: String,
    },
}
