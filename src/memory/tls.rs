//! TLS to the shared Memory's server, as its URL asks with libpq's `sslmode`: `require` encrypts
//! without checking whom it talks to (as libpq does, unless `sslrootcert=` names a root),
//! `verify-ca` checks the server's certificate chain, `verify-full` also its host name. The roots
//! are the certificates in `sslrootcert=FILE`, else the system's. A server that asks for the
//! client's certificate (`cert` in its `pg_hba.conf`) gets the one in `sslcert=FILE`, signed with
//! the key in `sslkey=FILE`. Without one of these modes, goal connects without TLS.
//!
//! The client reads only `disable`, `prefer` and `require`, and knows no `sslrootcert`,
//! `sslcert` or `sslkey`: the URL is handed to it with them rewritten or taken out, and the
//! certificates handled here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

/// What the URL asks of the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Mode {
    /// No `sslmode`, or `disable`, `allow`, `prefer`: no TLS.
    Plain,
    /// Encrypted; the certificate is not checked.
    Encrypted,
    /// Encrypted, to a server whose certificate chains to a root.
    VerifiedChain,
    /// Encrypted, to a server whose certificate chains to a root and names the host.
    VerifiedHost,
}

/// The URL as the client reads it, and how to make its connections.
pub(super) struct Settings {
    pub(super) url: String,
    pub(super) mode: Mode,
    root_certificates: Option<PathBuf>,
    /// `sslcert` and `sslkey`: the client's certificate chain and its key.
    client_certificate: Option<PathBuf>,
    client_key: Option<PathBuf>,
}

impl Settings {
    /// Reads `sslmode`, `sslrootcert`, `sslcert` and `sslkey` from the URL's parameters.
    pub(super) fn from_url(url: &str) -> Result<Settings, String> {
        let (base, query) = match url.split_once('?') {
            Some((base, query)) => (base, query),
            None => (url, ""),
        };
        let mut mode = Mode::Plain;
        let mut root_certificates = None;
        let (mut client_certificate, mut client_key) = (None, None);
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            match pair.split_once('=') {
                Some(("sslmode", value)) => {
                    mode = match value {
                        "disable" | "allow" | "prefer" => Mode::Plain,
                        "require" => Mode::Encrypted,
                        "verify-ca" => Mode::VerifiedChain,
                        "verify-full" => Mode::VerifiedHost,
                        other => {
                            return Err(format!(
                                "sslmode={other} is none of disable, allow, prefer, require, \
                                 verify-ca, verify-full"
                            ))
                        }
                    }
                }
                Some(("sslrootcert", value)) => {
                    root_certificates = Some(percent_decoded(value));
                }
                Some(("sslcert", value)) => client_certificate = Some(percent_decoded(value)),
                Some(("sslkey", value)) => client_key = Some(percent_decoded(value)),
                _ => kept.push(pair),
            }
        }
        // libpq: `require` with a root given checks the chain, as `verify-ca`.
        if mode == Mode::Encrypted && root_certificates.is_some() {
            mode = Mode::VerifiedChain;
        }
        if client_certificate.is_some() != client_key.is_some() {
            return Err(
                "sslcert and sslkey go together: the certificate, and the key it is \
                        signed with"
                    .to_owned(),
            );
        }
        kept.push(if mode == Mode::Plain {
            "sslmode=disable"
        } else {
            "sslmode=require"
        });
        Ok(Settings {
            url: format!("{base}?{}", kept.join("&")),
            mode,
            root_certificates,
            client_certificate,
            client_key,
        })
    }

    /// The connector for an encrypted mode: `None` for [`Mode::Plain`].
    pub(super) fn connector(&self) -> Result<Option<MakeRustlsConnect>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match self.mode {
            Mode::Plain => return Ok(None),
            Mode::Encrypted => Arc::new(Unverified(provider.clone())),
            Mode::VerifiedChain | Mode::VerifiedHost => {
                let chain = WebPkiServerVerifier::builder_with_provider(
                    Arc::new(self.roots()?),
                    provider.clone(),
                )
                .build()
                .map_err(|error| format!("cannot use the root certificates: {error}"))?;
                if self.mode == Mode::VerifiedHost {
                    chain
                } else {
                    Arc::new(AnyHost(chain))
                }
            }
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| error.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match (&self.client_certificate, &self.client_key) {
            (Some(certificate), Some(key)) => {
                let (chain, key) = client_certificate(certificate, key)?;
                config
                    .with_client_auth_cert(chain, key)
                    .map_err(|error| format!("cannot use sslcert and sslkey: {error}"))?
            }
            _ => config.with_no_client_auth(),
        };
        Ok(Some(MakeRustlsConnect::new(config)))
    }

    /// The roots certificates are checked against: `sslrootcert`'s, else the system's.
    fn roots(&self) -> Result<RootCertStore, String> {
        let mut roots = RootCertStore::empty();
        match &self.root_certificates {
            Some(file) => {
                let shown = file.display();
                let certificates = CertificateDer::pem_file_iter(file)
                    .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
                    .map_err(|error| format!("cannot read sslrootcert `{shown}`: {error}"))?;
                let (_, unusable) = roots.add_parsable_certificates(certificates);
                if roots.is_empty() || unusable > 0 {
                    return Err(format!(
                        "sslrootcert `{shown}` holds no usable PEM certificate"
                    ));
                }
            }
            None => {
                roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
                if roots.is_empty() {
                    return Err("the system has no root certificates to check the server's \
                                against; name one with sslrootcert=FILE"
                        .to_owned());
                }
            }
        }
        Ok(roots)
    }
}

/// The chain in the PEM file `certificate` and the key in the PEM file `key`.
fn client_certificate(
    certificate: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let shown = certificate.display();
    let chain = CertificateDer::pem_file_iter(certificate)
        .and_then(|chain| chain.collect::<Result<Vec<_>, _>>())
        .map_err(|error| format!("cannot read sslcert `{shown}`: {error}"))?;
    if chain.is_empty() {
        return Err(format!("sslcert `{shown}` holds no PEM certificate"));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|error| match error {
        rustls::pki_types::pem::Error::NoItemsFound => {
            format!("sslkey `{}` holds no PEM private key", key.display())
        }
        error => format!("cannot read sslkey `{}`: {error}", key.display()),
    })?;
    Ok((chain, key))
}

/// `%XX` in a URL's parameter decoded, as the client decodes the others; a path may be any bytes.
fn percent_decoded(value: &str) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(value).collect();
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

/// `sslmode=require`: any certificate, though the handshake must still be signed by it.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
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
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
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

/// `sslmode=verify-ca`: the chain is checked, the host name is not.
#[derive(Debug)]
struct AnyHost(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyHost {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            verified => verified,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
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
    fn the_client_gets_the_modes_it_knows_and_no_sslrootcert() {
        let settings = Settings::from_url("postgres://db/x").unwrap();
        assert_eq!(
            (settings.url.as_str(), settings.mode),
            ("postgres://db/x?sslmode=disable", Mode::Plain)
        );
        let settings =
            Settings::from_url("postgres://db/x?sslmode=verify-full&sslrootcert=%2Fca.pem&user=u")
                .unwrap();
        assert_eq!(settings.url, "postgres://db/x?user=u&sslmode=require");
        assert_eq!(settings.mode, Mode::VerifiedHost);
        assert_eq!(settings.root_certificates, Some(PathBuf::from("/ca.pem")));
        let settings =
            Settings::from_url("postgres://db/x?sslmode=require&sslrootcert=ca.pem").unwrap();
        assert_eq!(settings.mode, Mode::VerifiedChain);
        assert!(Settings::from_url("postgres://db/x?sslmode=sometimes").is_err());
        let settings =
            Settings::from_url("postgres://db/x?sslcert=me.crt&sslmode=require&sslkey=me.key")
                .unwrap();
        assert_eq!(settings.url, "postgres://db/x?sslmode=require");
        assert_eq!(settings.client_certificate, Some(PathBuf::from("me.crt")));
        assert_eq!(settings.client_key, Some(PathBuf::from("me.key")));
        assert!(Settings::from_url("postgres://db/x?sslmode=require&sslcert=me.crt").is_err());
    }
}
