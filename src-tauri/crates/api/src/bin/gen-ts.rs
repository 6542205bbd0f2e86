//! Writes the UI's TypeScript API types: `promptdesk-gen-ts OUT_FILE` (stdout without one).
//! The UI build runs it first (`npm run gen`), so the types always match the Rust ones.

fn main() {
    let ts = promptdesk_api::typescript();
    match std::env::args_os().nth(1) {
        None => print!("{ts}"),
        Some(path) => {
            let path = std::path::PathBuf::from(path);
            if let Some(dir) = path.parent() {
                if let Err(e) = std::fs::create_dir_all(dir) {
                    eprintln!("promptdesk-gen-ts: cannot create {}: {e}", dir.display());
                    std::process::exit(1);
                }
            }
            // Rewrite only when the text changed, so watchers and builds do not churn.
            if std::fs::read_to_string(&path).ok().as_deref() != Some(ts.as_str()) {
                if let Err(e) = std::fs::write(&path, ts) {
                    eprintln!("promptdesk-gen-ts: cannot write {}: {e}", path.display());
                    std::process::exit(1);
                }
            }
        }
    }
}
