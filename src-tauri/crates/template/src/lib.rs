//! Jinja prompt templates: analysis, input validation, limits, and the isolated render worker.
//!
//! - [`analysis`]: does a template parse, which variables does it read, which prompts does it
//!   include — without rendering it.
//! - [`inputs`]: checks render inputs against the declared schema (or one inferred from the
//!   template) and fills in defaults.
//! - [`render`]: renders a prompt body with strict undefined, a fuel limit, an output cap and
//!   includes served only from what the caller resolved.
//! - [`worker`]: runs that rendering in a separate process with a memory limit and a
//!   wall-clock limit, because some templates can exhaust memory and abort the process.
//!
//! - [`explain`]: the common mistakes (a block left open, a missing `}}`, a misspelt input or
//!   filter) in plain words, at the construct that is wrong, with a fix to apply.
//!
//! Every failure is a [`TemplateError`] with a kind, a one-line message, a location and, for
//! those mistakes, a fix.
//!
//! # Running the worker
//!
//! A shipped binary checks for [`WORKER_ARG`] (`__render-worker`) first thing in `main` and, if
//! given, exits with [`serve_stdio`]'s code; everything else talks to it through a
//! [`RenderWorker`] built from [`WorkerConfig::current_exe`] (or [`WorkerConfig::new`] with any
//! program and arguments). The client passes the limits in the environment
//! ([`MEMORY_LIMIT_ENV`], [`CPU_LIMIT_ENV`]); the worker needs nothing else. The memory limit is
//! enforced on Linux (and other systems that honour `RLIMIT_AS`); the wall-clock limit
//! everywhere.

pub mod analysis;
mod engine;
pub mod error;
pub mod explain;
pub mod inputs;
pub mod render;
pub mod worker;

pub use analysis::{
    check_syntax, compare_with_schema, include_references, referenced_variables, SchemaReport,
};
pub use error::{ErrorKind, Fix, SourceLocation, TemplateError};
pub use inputs::{infer_schema, validate_inputs};
pub use render::{message_template_name, render_in_process, Limits, RenderRequest};
pub use worker::{
    serve_stdio, RenderWorker, WorkerConfig, CPU_LIMIT_ENV, MEMORY_LIMIT_ENV, WORKER_ARG,
};
