//! The sync client over real TLS: a server on 127.0.0.1 speaking HTTPS with a certificate from
//! a private CA the test makes. With the CA configured, pushes and pulls go through and two
//! registries converge; without it, or with a certificate for another name or one that has
//! expired, the sync fails with a message that says which host and why, and is not taken for
//! "offline". Plain http:// to another machine is refused before any connection.

mod common;
#[path = "../../server/tests/common/pki.rs"]
mod pki;

use std::time::{Duration, Instant};

use common::{shared_state, Member, Server};
use pki::Ca;
use promptdesk_core::policy::Role;
use promptdesk_sync::{Remote, RemoteOptions, SetupError, SyncError};

const NAME: &str = "support/greeting";

struct Tls {
    dir: tempfile::TempDir,
    ca: Ca,
}

fn tls() -> Tls {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "team");
    Tls { dir, ca }
}

fn server(t: &Tls, names: &[&str]) -> Server {
    let leaf = t.ca.issue(t.dir.path(), "server", names);
    let config = promptdesk_server::tls::server_config(&leaf.cert, &leaf.key).unwrap();
    Server::start_tls(config)
}

fn with_ca(t: &Tls) -> RemoteOptions {
    RemoteOptions {
        ca_file: Some(t.ca.pem.clone()),
        insecure: false,
    }
}

#[test]
fn push_and_pull_go_through_https_with_the_private_ca() {
    let t = tls();
    let server = server(&t, &["localhost", "127.0.0.1"]);
    assert!(
        server.url().starts_with("https://127.0.0.1:"),
        "{}",
        server.url()
    );
    let mut ana =
        Member::join_at(&server, &server.url(), "ana", Role::Editor, &with_ca(&t)).unwrap();
    // The same server under its other name in the certificate.
    let by_name = server.url().replace("127.0.0.1", "localhost");
    let mut ben = Member::join_at(&server, &by_name, "ben", Role::Editor, &with_ca(&t)).unwrap();

    // A client that connects and never says a word holds up no one's handshake.
    let _silent = std::net::TcpStream::connect(server.addr).unwrap();
    ana.new_text(NAME, "Hello {{ name }}.");
    let started = Instant::now();
    let r = ana.sync();
    assert_eq!(r.pushed, 2, "{r:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the sync waited for the silent client's handshake"
    );
    assert_eq!(ben.sync().pulled, 2);
    assert_eq!(ben.edit(NAME, "Hi {{ name }}.", "Shorter"), 2);
    assert_eq!(ben.sync().pushed, 1);
    assert_eq!(ana.sync().pulled, 1);
    assert_eq!(shared_state(&ana.reg), shared_state(&ben.reg));
    assert_eq!(
        ana.reg.resolve(NAME, None).unwrap().author,
        "ben",
        "ana has ben's version 2"
    );

    // The TLS port does not answer plain HTTP, and goes on serving TLS after it.
    let plain = Remote::new(&server.url().replace("https://", "http://"), "x");
    assert!(plain.get("/v1/me").is_err());
    assert_eq!(ana.sync().pulled, 0);
}

fn refused(server: &Server, url: &str, options: &RemoteOptions) -> SyncError {
    let mut m = Member::join_at(server, url, "ana", Role::Editor, options).unwrap();
    m.new_text(NAME, "Hello.");
    let e = promptdesk_sync::sync(&mut m.reg, &m.remote, &mut |_| {}).unwrap_err();
    // The failure is recorded for the app's status, in the same words.
    let state = m.reg.sync_state().unwrap();
    assert_eq!(state.last_error.as_deref(), Some(e.to_string().as_str()));
    assert_eq!(state.pending, 2, "nothing was pushed");
    e
}

#[test]
fn without_the_ca_the_certificate_is_refused_in_words_not_as_offline() {
    let t = tls();
    let server = server(&t, &["localhost", "127.0.0.1"]);
    let e = refused(&server, &server.url(), &RemoteOptions::default());
    assert!(matches!(e, SyncError::Tls { .. }), "{e:?}");
    assert_eq!(e.kind(), "tls");
    let m = e.to_string();
    assert!(m.contains("certificate of 127.0.0.1"), "{m}");
    assert!(m.contains("unknown issuer"), "{m}");
    assert!(m.contains("--ca-file"), "says what to do: {m}");
    assert!(!m.contains("cannot be reached"), "{m}");

    // The CA of another team does not help.
    let other = Ca::new(t.dir.path(), "other");
    let options = RemoteOptions {
        ca_file: Some(other.pem.clone()),
        insecure: false,
    };
    let e = refused(&server, &server.url(), &options);
    assert!(e.to_string().contains("unknown issuer"), "{e}");
}

#[test]
fn a_certificate_for_another_name_is_refused() {
    let t = tls();
    let server = server(&t, &["registry.example.invalid"]);
    let e = refused(&server, &server.url(), &with_ca(&t));
    assert!(matches!(e, SyncError::Tls { .. }), "{e:?}");
    let m = e.to_string();
    assert!(
        m.contains("not valid for the name 127.0.0.1") && m.contains("wrong host name"),
        "{m}"
    );
}

#[test]
fn an_expired_certificate_is_refused() {
    let t = tls();
    let leaf = t.ca.issue_expired(t.dir.path(), "old", &["127.0.0.1"]);
    let config = promptdesk_server::tls::server_config(&leaf.cert, &leaf.key).unwrap();
    let server = Server::start_tls(config);
    let e = refused(&server, &server.url(), &with_ca(&t));
    assert!(matches!(e, SyncError::Tls { .. }), "{e:?}");
    assert!(e.to_string().contains("has expired"), "{e}");
}

#[test]
fn a_redirect_is_reported_not_followed() {
    // What a proxy in front of the server may answer on plain http: a redirect to https.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let answering = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut conn, _) = listener.accept().unwrap();
        let mut request = [0u8; 4096];
        let _ = conn.read(&mut request);
        conn.write_all(
            b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://registry.example.invalid/v1/me\r\n\
              Content-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
    });
    let e = Remote::new(&format!("http://{addr}"), "token")
        .get("/v1/me")
        .unwrap_err();
    answering.join().unwrap();
    let m = e.to_string();
    assert!(
        m.contains("HTTP 301") && m.contains("https://registry.example.invalid/v1/me"),
        "{m}"
    );
    assert!(m.contains("not followed"), "{m}");
}

#[test]
fn plain_http_to_another_machine_is_refused_before_connecting_unless_insecure() {
    let server = Server::start();
    // Neither address is ever contacted: the refusal comes first, and with --insecure no
    // request is made.
    for url in ["http://10.0.0.1:8600", "http://registry.example.invalid"] {
        let started = Instant::now();
        let e = Member::join_at(&server, url, "ana", Role::Editor, &RemoteOptions::default())
            .err()
            .unwrap_or_else(|| panic!("{url} was accepted"));
        match &e {
            SyncError::Setup(SetupError::Insecure { host, .. }) => {
                assert!(url.contains(host.as_str()), "{host}")
            }
            other => panic!("{url}: {other:?}"),
        }
        assert_eq!(e.kind(), "insecure");
        let m = e.to_string();
        assert!(m.contains("unencrypted") && m.contains("--insecure"), "{m}");

        // A remote made without options refuses at its first request, before connecting.
        let e = Remote::new(url, "token").get("/v1/me").unwrap_err();
        assert!(
            matches!(e, SyncError::Setup(SetupError::Insecure { .. })),
            "{e:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "nothing waited for a network"
        );

        let insecure = RemoteOptions {
            ca_file: None,
            insecure: true,
        };
        let m = Member::join_at(&server, url, "ana", Role::Editor, &insecure).unwrap();
        // What is kept with the remote applies to that URL only.
        assert_eq!(
            promptdesk_sync::remote_options(&m.reg, url).unwrap(),
            insecure
        );
        assert_eq!(
            promptdesk_sync::remote_options(&m.reg, "http://10.9.9.9").unwrap(),
            RemoteOptions::default()
        );
    }
    // This machine is fine over plain http.
    let mut ana = Member::join(&server, "ana", Role::Editor);
    ana.new_text(NAME, "Hello.");
    assert_eq!(ana.sync().pushed, 2);
}
