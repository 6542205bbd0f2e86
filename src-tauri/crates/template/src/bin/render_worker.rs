//! The render worker as a standalone binary, for this crate's tests and benches.
//!
//! The shipped binaries run the same [`promptdesk_template::serve_stdio`] behind the hidden
//! `__render-worker` argument instead.

fn main() {
    std::process::exit(promptdesk_template::serve_stdio());
}
