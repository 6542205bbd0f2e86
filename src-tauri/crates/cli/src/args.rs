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
