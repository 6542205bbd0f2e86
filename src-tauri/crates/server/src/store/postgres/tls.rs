//! TLS to PostgreSQL, chosen as libpq users expect from the URL's `sslmode` and `sslrootcert`
//! (rustls with ring, through tokio-postgres-rustls):
//!
//! | `sslmode`          | encrypted                  | certificate checked               |
//! |--------------------|----------------------------|-----------------------------------|
//! | `disable`          | no                         | –                                 |
//! | `prefer` (default) | when the server offers it  | no                                |
//! | `require`          | always                     | no; with `sslrootcert`, the chain |
//! | `verify-ca`        | always                     | the chain                         |
//! | `verify-full`      | always                     | the chain and the host name       |
//!
//! The chain is checked against `sslrootcert` (a PEM file of CA certificates) or, without it,
//! the system's root certificates. `postgres` itself knows neither `verify-*` nor
//! `sslrootcert`, so both are taken out of the URL before it is parsed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ::postgres::config::SslMode;
use ::postgres::{Client, Config, NoTls};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::{Result, ServerError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(value: &str) -> Result<Mode> {
        Ok(match value {
            "disable" => Mode::Disable,
            "prefer" => Mode::Prefer,
            "require" => Mode::Require,
            "verify-ca" => Mode::VerifyCa,
            "verify-full" => Mode::VerifyFull,
            other => {
                return Err(ServerError::BadInput(format!(
                    "sslmode={other} in the PostgreSQL URL is not supported: use disable, \
                     prefer, require, verify-ca or verify-full"
                )))
            }
        })
    }
}

/// How this store connects: plain, or rustls with a verifier chosen by the mode.
pub(crate) struct Tls {
    mode: Mode,
    connector: Option<MakeRustlsConnect>,
}

/// The URL without the parameters `postgres` does not know, and the TLS they ask for.
pub(crate) fn from_url(url: &str) -> Result<(String, Tls)> {
    let (main, query) = match url.split_once('?') {
        Some((m, q)) => (m, q),
        None => (url, ""),
    };
    let mut mode = Mode::Prefer;
    let mut root_cert: Option<PathBuf> = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => mode = Mode::parse(&decode(value))?,
            "sslrootcert" => root_cert = Some(PathBuf::from(decode(value))),
            "sslcert" | "sslkey" => {
                return Err(ServerError::BadInput(format!(
                    "{key} in the PostgreSQL URL: client certificates are not supported; sign in \
                     with a password (the connection is still encrypted and verified by sslmode)"
                )))
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        main.to_string()
    } else {
        format!("{main}?{}", kept.join("&"))
    };
    let roots = match (mode, &root_cert) {
        (Mode::Disable | Mode::Prefer, _) | (Mode::Require, None) => None,
        (_, Some(path)) => Some(read_roots(path)?),
        (_, None) => Some(system_roots()?),
    };
    let connector = match mode {
        Mode::Disable => None,
        _ => Some(MakeRustlsConnect::new(client_config(mode, roots)?)),
    };
    Ok((url, Tls { mode, connector }))
}

impl Tls {
    /// Sets the `postgres` side of the mode on `config`.
    pub(crate) fn configure(&self, config: &mut Config) {
        config.ssl_mode(match self.mode {
            Mode::Disable => SslMode::Disable,
            Mode::Prefer => SslMode::Prefer,
            Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
        });
    }

    pub(crate) fn connect(
        &self,
        config: &Config,
    ) -> std::result::Result<Client, ::postgres::Error> {
        match &self.connector {
            None => config.connect(NoTls),
            Some(c) => config.connect(c.clone()),
        }
    }

    /// What to add to a connection error that is about the server's certificate.
    pub(crate) fn hint(&self, e: &::postgres::Error) -> Option<&'static str> {
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            let tls = s
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>());
            if let Some(rustls::Error::InvalidCertificate(c)) = tls {
                return Some(match c {
                    CertificateError::UnknownIssuer => {
                        "the server's certificate is not signed by a trusted CA: give the CA's \
                         certificate as sslrootcert=PATH"
                    }
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. } => {
                        "the server's certificate is not valid for the host name in the URL"
                    }
                    _ => "the server's certificate was refused",
                });
            }
            source = s.source();
        }
        None
    }
}

impl Clone for Tls {
    fn clone(&self) -> Self {
        Tls {
            mode: self.mode,
            connector: self.connector.clone(),
        }
    }
}

/// `%XX` escapes of a URL parameter decoded (a path may hold spaces).
fn decode(value: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            ) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn read_roots(path: &Path) -> Result<RootCertStore> {
    let fail = |detail: String| {
        ServerError::BadInput(format!(
            "sslrootcert {} in the PostgreSQL URL cannot be used: {detail}",
            path.display()
        ))
    };
    let pem = std::fs::read(path).map_err(|e| fail(format!("cannot read it ({e})")))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| fail(format!("it is not a PEM file of certificates ({e})")))?;
    if certs.is_empty() {
        return Err(fail("it holds no certificate".into()));
    }
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| {
            fail(format!(
                "a certificate in it cannot be a trust anchor ({e})"
            ))
        })?;
    }
    Ok(roots)
}

fn system_roots() -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if roots.is_empty() {
        return Err(ServerError::BadInput(
            "the PostgreSQL URL asks to verify the server's certificate, but this machine has \
             no trusted root certificates: give the CA's certificate as sslrootcert=PATH"
                .into(),
        ));
    }
    Ok(roots)
}

fn client_config(mode: Mode, roots: Option<RootCertStore>) -> Result<rustls::ClientConfig> {
    let provider = crate::tls::provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ServerError::Internal(format!("TLS cannot start: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = match roots {
        None => Arc::new(EncryptOnly(provider)),
        Some(roots) => {
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| ServerError::BadInput(format!("the CA certificates: {e}")))?;
            if mode == Mode::VerifyFull {
                webpki
            } else {
                Arc::new(ChainOnly(webpki))
            }
        }
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// `prefer` and `require` without a CA: encrypted, the certificate not checked (as libpq).
/// The handshake's signatures are still verified, so the session key is the certificate's.
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted CA; the name in the certificate is not
/// compared with the host (webpki checks the name only once the chain is good, so a name error
/// means the chain passed).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_loses_what_postgres_does_not_know() {
        let (url, tls) =
            from_url("postgres://ana:pw@db:5432/reg?application_name=x&sslmode=require").unwrap();
        assert_eq!(url, "postgres://ana:pw@db:5432/reg?application_name=x");
        assert_eq!(tls.mode, Mode::Require);
        let (url, tls) = from_url("postgres://ana@db/reg").unwrap();
        assert_eq!(url, "postgres://ana@db/reg");
        assert_eq!(tls.mode, Mode::Prefer);
        let (url, tls) = from_url("postgres://ana@db/reg?sslmode=disable").unwrap();
        assert_eq!(url, "postgres://ana@db/reg");
        assert!(tls.connector.is_none());
        let e =
            from_url("postgres://ana@db/reg?sslmode=verify-full&sslrootcert=no%20such%2Fca.pem")
                .err()
                .unwrap()
                .to_string();
        assert!(
            e.contains("no such/ca.pem") && e.contains("cannot read"),
            "{e}"
        );
        let e = from_url("postgres://ana@db/reg?sslmode=allow")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("sslmode=allow"), "{e}");
    }
}
