//! What a registry and the team's server must agree on, with no storage and no runtime: the
//! sync events and record changes that travel between them, the statements people sign and how
//! signatures are checked, release policies and their evaluation, test cases and the recheck of
//! a synced eval run, and the one error taxonomy.
//!
//! The desktop registry (`promptdesk-core`, SQLite) and the server (`promptdesk-server`, SQLite or
//! PostgreSQL) both depend on this crate; the server depends on nothing of the desktop's. A rule
//! that both sides enforce is written here once.

pub mod error;
pub mod eval;
pub mod events;
pub mod incidents;
pub mod labels;
pub mod policy;
pub mod records;
pub mod signing;
pub mod statements;

pub use error::ErrorKind;
