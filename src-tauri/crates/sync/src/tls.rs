//! What the sync client trusts, and what it refuses before connecting.
//!
//! - `https://` is verified by rustls (crypto provider: ring) against the system's root
//!   certificates plus, optionally, a PEM file of private CA certificates.
//! - `http://` is refused unless the host is this machine (127.0.0.0/8, ::1, `localhost`) or
//!   the person said `--insecure` for that remote: the token and every change would otherwise
//!   cross the network in clear.
//! - A failed certificate check is described in words (which host, why), never mistaken for
//!   the server being offline.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{CertificateError, RootCertStore};

/// The environment variable that names a CA file, overriding the one kept with the remote.
pub const CA_FILE_ENV: &str = "PROMPTDESK_CA_FILE";

/// A problem with how a remote is set up, found before any connection. Cloneable, so a
/// `Remote` built without a way to fail can keep it and report it at its first request.
#[derive(Debug, Clone, PartialEq)]
pub enum SetupError {
    /// Plain `http://` to a host that is not this machine, without `--insecure`.
    Insecure { url: String, host: String },
    /// Not an http(s) URL with a host.
    BadUrl { url: String, detail: String },
    /// The CA file cannot be read or holds no usable certificate.
    CaFile { path: PathBuf, detail: String },
}

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SetupError::Insecure { url, host } => write!(
                f,
                "refusing plain http:// to {host}: the token and every change would cross the \
                 network unencrypted. Use the server's https:// address (a private CA goes in \
                 with --ca-file), or, only on a network you trust, \
                 `promptdesk remote set {url} --insecure`"
            ),
            SetupError::BadUrl { url, detail } => write!(
                f,
                "'{url}' is not a server URL ({detail}): it must be http(s)://HOST[:PORT]"
            ),
            SetupError::CaFile { path, detail } => {
                write!(f, "the CA file {} cannot be used: {detail}", path.display())
            }
        }
    }
}

/// The host of an http(s) URL, and whether the URL is plain http to a host that is not this
/// machine. Parsed as the HTTP client parses it, so `http://0x7f.1` is loopback and
/// `http://127.0.0.1.example.com` is not.
pub fn check_url(url: &str, insecure: bool) -> Result<(), SetupError> {
    let parsed = url::Url::parse(url).map_err(|e| SetupError::BadUrl {
        url: url.to_string(),
        detail: e.to_string(),
    })?;
    let host = match parsed.host() {
        Some(h) => h,
        None => {
            return Err(SetupError::BadUrl {
                url: url.to_string(),
                detail: "no host".into(),
            })
        }
    };
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if insecure || is_loopback(&host) => Ok(()),
        "http" => Err(SetupError::Insecure {
            url: url.to_string(),
            host: host.to_string(),
        }),
        other => Err(SetupError::BadUrl {
            url: url.to_string(),
            detail: format!("the scheme is {other}"),
        }),
    }
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
    }
}

/// The CA file in effect: `PROMPTDESK_CA_FILE` when set and not empty, else the one kept with
/// the remote.
pub fn effective_ca_file(kept: Option<&Path>) -> Option<PathBuf> {
    match std::env::var_os(CA_FILE_ENV) {
        Some(v) if !v.is_empty() => Some(PathBuf::from(v)),
        _ => kept.map(Path::to_path_buf),
    }
}

/// The system's root certificates, loaded once per process (reading and parsing the bundle
/// takes a while; the app builds a client every round).
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// The certificates of a PEM file of CA certificates, or why not (naming the file).
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, SetupError> {
    let fail = |detail: String| SetupError::CaFile {
        path: path.to_path_buf(),
        detail,
    };
    let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read it ({e})")))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(format!("it is not a PEM file of certificates ({e})")))?;
    if certs.is_empty() {
        return Err(fail(
            "it holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    Ok(certs)
}

/// The rustls client configuration: the system's roots plus the certificates of `ca_file`.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, SetupError> {
    let mut roots = RootCertStore::empty();
    // A system bundle may hold a certificate rustls cannot use; the others still count.
    let _ = roots.add_parsable_certificates(system_roots().iter().cloned());
    if let Some(path) = ca_file {
        for cert in read_ca_file(path)? {
            roots.add(cert).map_err(|e| SetupError::CaFile {
                path: path.to_path_buf(),
                detail: format!("a certificate in it cannot be a trust anchor ({e})"),
            })?;
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| SetupError::BadUrl {
            url: String::new(),
            detail: format!("TLS cannot start: {e}"),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The crypto provider: ring, the one of the whole workspace (ureq 2 builds it in anyway).
/// rustls 0.23.48 deprecates it for lacking post-quantum key exchange; X25519 and P-256 ECDHE
/// remain.
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The TLS error in `error`'s chain of causes, if any.
pub fn tls_cause<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(t) = e.downcast_ref::<rustls::Error>() {
            return Some(t);
        }
        // `io::Error::source` skips the error it wraps; look inside it explicitly.
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(inner);
        }
        current = e.source();
    }
    None
}

/// Why a TLS connection to `host` failed, in words a person can act on.
pub fn describe(host: &str, error: &rustls::Error) -> String {
    let private_ca = format!(
        "If {host} uses a private CA, give its certificate: `promptdesk remote set URL --ca-file \
         CA.pem` (or {CA_FILE_ENV}=CA.pem)"
    );
    match error {
        rustls::Error::InvalidCertificate(c) => {
            match c {
                CertificateError::UnknownIssuer => format!(
                    "the certificate of {host} is signed by an authority this computer does not \
                 trust (unknown issuer). {private_ca}"
                ),
                CertificateError::NotValidForName => format!(
                    "the certificate of {host} is not valid for the name {host} (wrong host name)"
                ),
                CertificateError::NotValidForNameContext { presented, .. } => format!(
                "the certificate of {host} is not valid for the name {host} (wrong host name; it \
                 names {})",
                if presented.is_empty() {
                    "nothing".to_string()
                } else {
                    presented.join(", ")
                }
            ),
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    format!("the certificate of {host} has expired ({c})")
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    format!("the certificate of {host} is not valid yet ({c}); check this computer's clock")
                }
                CertificateError::Revoked => format!("the certificate of {host} has been revoked"),
                other => format!("the certificate of {host} was refused: {other}"),
            }
        }
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => format!(
            "{host} does not answer TLS on that port (is it a plain http:// server?): {error}"
        ),
        rustls::Error::AlertReceived(alert) => {
            format!("{host} ended the TLS handshake ({alert:?})")
        }
        other => format!("the TLS connection to {host} failed: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_for_this_machine_only() {
        for ok in [
            "http://127.0.0.1:8600",
            "http://127.9.9.9",
            "http://localhost:1",
            "http://LOCALHOST",
            "http://[::1]:8600",
            "http://0x7f.1:80",
            "https://10.0.0.1",
            "https://example.invalid/x",
        ] {
            assert_eq!(check_url(ok, false), Ok(()), "{ok}");
        }
        for refused in [
            "http://10.0.0.1:8600",
            "http://example.invalid",
            "http://127.0.0.1.example.invalid",
            "http://localhost.example.invalid",
            "http://[::2]",
            "http://0.0.0.0:8600",
        ] {
            match check_url(refused, false) {
                Err(SetupError::Insecure { .. }) => {}
                other => panic!("{refused}: {other:?}"),
            }
            assert_eq!(check_url(refused, true), Ok(()), "{refused}");
        }
        assert!(matches!(
            check_url("ftp://example.invalid", true),
            Err(SetupError::BadUrl { .. })
        ));
        assert!(matches!(
            check_url("not a url", true),
            Err(SetupError::BadUrl { .. })
        ));
    }

    #[test]
    fn a_ca_file_that_cannot_be_used_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let e = client_config(Some(&missing)).unwrap_err().to_string();
        assert!(
            e.contains("missing.pem") && e.contains("cannot read"),
            "{e}"
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = client_config(Some(&empty)).unwrap_err().to_string();
        assert!(
            e.contains("empty.pem") && e.contains("no certificate"),
            "{e}"
        );
        let broken = dir.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = client_config(Some(&broken)).unwrap_err().to_string();
        assert!(e.contains("broken.pem"), "{e}");
    }
}
