//! `promptdesk-fakellm`: see the library's docs for its routes, models and flags.

fn main() -> std::process::ExitCode {
    promptdesk_fakellm::cli::run(std::env::args_os())
}
