//! HTTPS for `promptdesk serve --tls-cert PEM --tls-key PEM`: rustls (crypto provider: ring)
//! through tokio-rustls, under the same axum server, routes and graceful shutdown as plain HTTP.
//!
//! Handshakes run on their own tasks, each with a deadline, so a client that connects and says
//! nothing holds up no one; only finished handshakes reach the HTTP server. A failed handshake
//! (a client that does not trust the certificate, plain HTTP on the TLS port) is logged as one
//! JSON line on stderr, like requests.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// How long a client has to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Finished handshakes waiting for the HTTP server to take them.
const READY_QUEUE: usize = 64;

/// The server configuration from a PEM certificate chain (the server's certificate first) and
/// a PEM private key (PKCS#8, PKCS#1 or SEC1), or an error naming the file and what is wrong.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|e| format!("cannot read the TLS file {}: {e}", path.display()))
    };
    let cert_pem = read(cert)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            format!(
                "the TLS certificate {} is not a PEM file of certificates ({e})",
                cert.display()
            )
        })?;
    if chain.is_empty() {
        return Err(format!(
            "the TLS certificate {} holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)",
            cert.display()
        ));
    }
    let key_pem = read(key)?;
    let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        format!(
            "the TLS key {} holds no usable private key (expected a PEM private key block, PKCS#8, RSA or EC; {e})",
            key.display()
        )
    })?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS cannot start: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| {
            format!(
                "the TLS certificate {} and key {} cannot be used together: {e}",
                cert.display(),
                key.display()
            )
        })?;
    // The router speaks HTTP/1.1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The one crypto provider of the workspace's TLS: ring. (rustls 0.23.48 deprecates ring's
/// provider for lacking post-quantum key exchange; it still does X25519 and P-256 ECDHE, and
/// aws-lc-rs would add a second C crypto library to the build, since ureq 2 needs ring.)
#[allow(deprecated)]
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A listener whose connections have finished a TLS handshake; for `axum::serve`.
pub struct TlsListener {
    local: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    acceptor: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    pub fn new(listener: TcpListener, config: Arc<rustls::ServerConfig>) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(READY_QUEUE);
        let tls = TlsAcceptor::from(config);
        let acceptor = tokio::spawn(accept_loop(listener, tls, tx));
        Ok(TlsListener {
            local,
            ready,
            acceptor,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        // Stop accepting: the server no longer takes connections (graceful shutdown began).
        self.acceptor.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: TlsAcceptor,
    tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = tx.closed() => return,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(_) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let tls = tls.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(tcp)).await {
                Ok(Ok(stream)) => {
                    let _ = tx.send((stream, peer)).await;
                }
                Ok(Err(e)) => log_failure(peer, &e.to_string()),
                Err(_) => log_failure(peer, "the handshake timed out"),
            }
        });
    }
}

fn log_failure(peer: SocketAddr, error: &str) {
    if std::env::var_os("PROMPTDESK_SERVER_QUIET").is_some() {
        return;
    }
    eprintln!(
        "{}",
        serde_json::json!({
            "at": crate::now(),
            "event": "tls_handshake_failed",
            "peer": peer.ip().to_string(),
            "error": error,
        })
    );
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(ready) => ready,
            // The accepting task is gone (it never ends while the listener lives): accept
            // nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
