//! `with_command_names!` hands another crate exactly the declared commands, in order: it is how
//! the desktop shell makes its Tauri commands without a list of its own.

macro_rules! names_of {
    ($($name:ident),* $(,)?) => {
        const NAMES: &[&str] = &[$(stringify!($name)),*];
    };
}

promptdesk_api::with_command_names!(names_of);

#[test]
fn with_command_names_expands_to_every_command_in_order() {
    assert_eq!(NAMES, promptdesk_api::COMMANDS);
    assert!(NAMES.contains(&"revoke_signing_key"));
}
