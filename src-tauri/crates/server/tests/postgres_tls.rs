//! The PostgreSQL backend over TLS, against a real PostgreSQL with `ssl = on`, a certificate for
//! `localhost` from a CA the harness makes, and TCP connections without TLS rejected
//! (`hostnossl … reject`): `sslmode=require` and `prefer` encrypt, `verify-full` also checks the
//! chain against `sslrootcert` and the host name, `verify-ca` the chain only; a certificate of
//! another CA, or for another name, is refused with the reason and without the password.

mod common;

use common::pg;
use promptdesk_server::Store;

fn url(db: &pg::TestDb, host: &str, params: &str) -> String {
    let port = pg::tls_instance().port;
    format!(
        "postgres://postgres:s3cret@{host}:{port}/{}?{params}",
        db.name
    )
}

fn tls_db() -> pg::TestDb {
    pg::TestDb::create_on(pg::tls_instance())
}

fn files() -> &'static pg::TlsFiles {
    pg::tls_instance().tls.as_ref().unwrap()
}

fn refused(url: &str) -> String {
    match Store::open(url) {
        Ok(_) => panic!("{url} was accepted"),
        Err(e) => {
            let m = e.to_string();
            assert!(!m.contains("s3cret"), "the password is never shown: {m}");
            m
        }
    }
}

#[test]
fn require_and_prefer_encrypt_and_disable_is_turned_away() {
    let db = tls_db();
    for params in ["sslmode=require", "application_name=t&sslmode=require", ""] {
        for host in ["localhost", "127.0.0.1"] {
            let store = Store::open(&url(&db, host, params))
                .unwrap_or_else(|e| panic!("{host} {params}: {e}"));
            let (encrypted, n) = db.connections_encrypted();
            assert!(
                n >= 1 && encrypted,
                "{host} {params}: {n} connections, encrypted {encrypted}"
            );
            drop(store);
        }
    }
    // The same server refuses plain connections: what opened above went over TLS.
    let m = refused(&url(&db, "localhost", "sslmode=disable"));
    assert!(
        m.contains("cannot connect to PostgreSQL at localhost"),
        "{m}"
    );
}

#[test]
fn verify_full_checks_the_chain_and_the_host_name() {
    let db = tls_db();
    let ca = files().ca.display().to_string();
    let other = files().other_ca.display().to_string();

    let store = Store::open(&url(
        &db,
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(db.connections_encrypted().0);
    drop(store);

    // A CA that did not sign the server's certificate.
    let m = refused(&url(
        &db,
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={other}"),
    ));
    assert!(m.contains("not signed by a trusted CA"), "{m}");
    // The system's roots (no sslrootcert) do not know the test CA either.
    let m = refused(&url(&db, "localhost", "sslmode=verify-full"));
    assert!(
        m.contains("not signed by a trusted CA") || m.contains("no trusted root certificates"),
        "{m}"
    );
    // The certificate names localhost, not 127.0.0.1.
    let m = refused(&url(
        &db,
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ));
    assert!(m.contains("not valid for the host name"), "{m}");

    // verify-ca checks the chain only; require with a CA file acts as verify-ca (as libpq).
    for mode in ["verify-ca", "require"] {
        let ok = url(
            &db,
            "127.0.0.1",
            &format!("sslmode={mode}&sslrootcert={ca}"),
        );
        drop(Store::open(&ok).unwrap_or_else(|e| panic!("{mode}: {e}")));
        let m = refused(&url(
            &db,
            "127.0.0.1",
            &format!("sslmode={mode}&sslrootcert={other}"),
        ));
        assert!(m.contains("not signed by a trusted CA"), "{mode}: {m}");
    }
}

#[test]
fn unusable_tls_settings_are_named() {
    let db = tls_db();
    let m = refused(&url(
        &db,
        "localhost",
        "sslmode=verify-full&sslrootcert=no-such-dir/ca.pem",
    ));
    assert!(
        m.contains("sslrootcert no-such-dir/ca.pem") && m.contains("cannot read"),
        "{m}"
    );
    let m = refused(&url(&db, "localhost", "sslmode=verify-everything"));
    assert!(m.contains("sslmode=verify-everything"), "{m}");
}

#[test]
fn require_against_a_server_without_tls_is_refused() {
    let db = pg::TestDb::create();
    let port = pg::instance().port;
    let plain = format!("postgres://postgres@127.0.0.1:{port}/{}", db.name);
    // The plain harness instance still works as before (prefer falls back to no TLS).
    let store = Store::open(&plain).unwrap_or_else(|e| panic!("{e}"));
    let (encrypted, n) = db.connections_encrypted();
    assert!(
        n >= 1 && !encrypted,
        "{n} connections, encrypted {encrypted}"
    );
    drop(store);
    let m = refused(&format!("{plain}?sslmode=require"));
    assert!(m.to_lowercase().contains("tls"), "{m}");
}
