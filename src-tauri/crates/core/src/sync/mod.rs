//! Sync between a registry and the team's registry server: what a local change becomes on the
//! wire ([`outbox`]) and how a pulled event is applied here ([`inbox`]). The events themselves
//! and their registry-free checks are in `promptdesk_protocol::events`, shared with the server.

pub mod inbox;
pub mod outbox;

pub use promptdesk_protocol::events::*;
pub use promptdesk_protocol::records;
