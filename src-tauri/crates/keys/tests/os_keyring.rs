//! The real OS keyring: Secret Service over D-Bus. tests/run.sh runs this inside
//! `dbus-run-session` with an unlocked gnome-keyring; elsewhere the ignore attribute (with its
//! reason) skips it.
//! (A missing keyring is tested through the CLI, in a process without a session bus.)

use promptdesk_core::signing::Sign;
use promptdesk_keys::KeyStore;

#[test]
#[ignore = "needs an unlocked Secret Service; tests/run.sh runs it inside dbus-run-session with gnome-keyring"]
fn keys_survive_in_the_os_keyring_and_a_missing_keyring_is_reported() {
    let store = KeyStore::Os;
    store
        .canary()
        .expect("the canary passes in the test session");
    let person = format!("keyring-test-{}", std::process::id());
    let first = store.signer_for(&person).unwrap();
    let again = store.signer_for(&person).unwrap();
    assert_eq!(first.public_key(), again.public_key(), "the key was kept");
    // It really is in the Secret Service: secret-tool (libsecret) finds it by its attributes.
    let found = std::process::Command::new("secret-tool")
        .args([
            "search",
            "service",
            "dev.promptdesk.signing-key",
            "username",
            &person,
        ])
        .output();
    if let Ok(out) = found {
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            text.contains(&person),
            "secret-tool did not find the key: {text}"
        );
    }
}
