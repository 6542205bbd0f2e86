//! Revoking a token takes effect within a second on every replica over the database: each
//! replica trusts a verified token for at most half a second before asking again.

mod common;

use common::{Auth, Backend, Server};
use promptdesk_protocol::policy::Role;

fn revocation_reaches_every_replica(backend: Backend) {
    let first = Server::start_on(backend);
    let second = first.replica();
    let token = promptdesk_server::auth::create_token(
        &first.store,
        "ana",
        Role::Editor,
        false,
        &promptdesk_server::now(),
    )
    .unwrap();
    for replica in [&first, &second] {
        let me = replica.request("GET", "/v1/me", Auth::Bearer(&token.secret), None);
        assert_eq!(me.status, 200, "{}", me.body);
    }
    let revoked = first
        .store
        .write(|tx| tx.revoke_token(&token.row.id, &promptdesk_server::now()))
        .unwrap();
    assert!(revoked);
    std::thread::sleep(std::time::Duration::from_millis(1000));
    for replica in [&first, &second] {
        let me = replica.request("GET", "/v1/me", Auth::Bearer(&token.secret), None);
        assert_eq!(
            me.status, 401,
            "a revoked token still works after 1 s: {}",
            me.body
        );
    }
}

#[test]
fn a_revoked_token_stops_working_within_a_second_on_every_sqlite_replica() {
    revocation_reaches_every_replica(Backend::Sqlite);
}

#[test]
fn a_revoked_token_stops_working_within_a_second_on_every_postgres_replica() {
    revocation_reaches_every_replica(Backend::Postgres);
}
