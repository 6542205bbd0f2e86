//! Provider calls over real TLS on the workspace's one rustls stack: a TLS front (tokio-rustls,
//! a certificate for `localhost` from a CA the test makes) relays to the fake model. With the CA
//! among the system's roots (`SSL_CERT_FILE`, read once per process, hence one test in this
//! binary) a chat completion goes through; under a name the certificate does not hold it fails
//! with the certificate's reason.

#[path = "../../server/tests/common/pki.rs"]
mod pki;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use promptdesk_eval::{ChatRequest, Message, Provider, ProviderConfig, ProviderKind};
use promptdesk_fakellm::{Config, FakeLlm};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Accepts TLS on 127.0.0.1 and relays each connection to `target`; returns the port.
async fn tls_front(leaf: &pki::Leaf, target: String) -> u16 {
    let chain = CertificateDer::pem_file_iter(&leaf.cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(&leaf.key).unwrap();
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            let target = target.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut upstream = tokio::net::TcpStream::connect(&target).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            });
        }
    });
    port
}

fn hello() -> ChatRequest {
    ChatRequest {
        model: "echo".into(),
        messages: vec![Message {
            role: "user".into(),
            content: "Hello over TLS".into(),
        }],
        parameters: BTreeMap::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_calls_go_over_https_with_rustls_and_check_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ca = pki::Ca::new(dir.path(), "models");
    let leaf = ca.issue(dir.path(), "front", &["localhost"]);
    // Before the first client reads the system's roots.
    std::env::set_var("SSL_CERT_FILE", &ca.pem);
    std::env::remove_var("SSL_CERT_DIR");
    let fake = FakeLlm::start(Config::default()).unwrap();
    let target = fake.base_url().trim_start_matches("http://").to_string();
    let port = tls_front(&leaf, target).await;

    let provider = |host: &str| {
        let mut c = ProviderConfig::new(
            "tls",
            ProviderKind::OpenAi,
            format!("https://{host}:{port}/v1"),
        );
        c.timeout = Duration::from_secs(20);
        Provider::new(c).unwrap()
    };
    let reply = provider("localhost").complete(&hello()).await.unwrap();
    assert_eq!(reply.text, "Hello over TLS");

    let e = provider("127.0.0.1").complete(&hello()).await.unwrap_err();
    let m = e.to_string();
    assert!(m.contains("certificate") && m.contains("127.0.0.1"), "{m}");
}
