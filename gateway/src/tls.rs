//! TLS, with rustls: the listeners' server config from PEM files (`server.tls_cert_file`,
//! `server.tls_key_file`) and the exporter's client config (the system's trust store,
//! Mozilla's roots built in, and `export.ca_file`). Both speak HTTP/1.1 only (ALPN
//! `http/1.1`), as the listeners and the exporter do. A leaf: what goes wrong is an
//! [`Invalid`] naming the setting, so a bad file stops the start with that name.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::config::error::Invalid;

/// The only protocol the listeners and the exporter speak.
const ALPN_HTTP1: &[u8] = b"http/1.1";

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Reads `path` for the setting `key`.
fn read(key: &str, path: &Path) -> Result<Vec<u8>, Invalid> {
    std::fs::read(path)
        .map_err(|e| Invalid::new(key, format!("cannot read {}: {e}", path.display())))
}

/// Every `CERTIFICATE` block of the PEM file `path` (setting `key`); at least one.
pub fn certificates(key: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, Invalid> {
    let pem = read(key, path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Invalid::new(key, format!("{}: not valid PEM: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Invalid::new(
            key,
            format!("{}: no CERTIFICATE block in the file", path.display()),
        ));
    }
    Ok(certs)
}

/// The HTTPS config of a listener: the certificate chain in `cert_file` (the server's
/// certificate first, then its intermediates) and the private key in `key_file` (PKCS#8,
/// PKCS#1 or SEC1 PEM), which must belong to that certificate. `keys` names the two
/// settings in errors.
pub fn server_config(
    cert_file: &Path,
    key_file: &Path,
    keys: (&str, &str),
) -> Result<Arc<ServerConfig>, Invalid> {
    let (cert_key, key_key) = keys;
    let chain = certificates(cert_key, cert_file)?;
    let key_pem = read(key_key, key_file)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        Invalid::new(
            key_key,
            format!("{}: no usable private key: {e}", key_file.display()),
        )
    })?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Invalid::new(cert_key, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => Invalid::new(
                key_key,
                format!(
                    "the key in {} does not belong to the certificate in {} ({cert_key})",
                    key_file.display(),
                    cert_file.display()
                ),
            ),
            e => Invalid::new(
                key_key,
                format!("{} with {}: {e}", key_file.display(), cert_file.display()),
            ),
        })?;
    config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
    Ok(Arc::new(config))
}

/// The exporter's TLS config: it trusts the system's certificate store, Mozilla's roots
/// (built in, for hosts and images without a store) and, when given, the CA certificates in
/// `ca_file` (setting `ca_key`), e.g. a private CA's.
pub fn client_config(ca_file: Option<&Path>, ca_key: &str) -> Result<ClientConfig, Invalid> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let system = rustls_native_certs::load_native_certs();
    let (added, ignored) = roots.add_parsable_certificates(system.certs);
    tracing::debug!(
        added,
        ignored,
        errors = system.errors.len(),
        "Loaded the system's CA certificates."
    );
    if let Some(path) = ca_file {
        for cert in certificates(ca_key, path)? {
            roots.add(cert).map_err(|e| {
                Invalid::new(
                    ca_key,
                    format!("{}: not a usable CA certificate: {e}", path.display()),
                )
            })?;
        }
    }
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Invalid::new(ca_key, e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_empty_files_name_the_setting_and_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not pem\n").expect("write");
        let missing = dir.path().join("missing.pem");
        let keys = ("server.tls_cert_file", "server.tls_key_file");
        let err = server_config(&missing, &empty, keys).expect_err("missing cert");
        assert_eq!(err.key, "server.tls_cert_file");
        assert!(err.problem.contains("missing.pem"), "{err}");
        let err = server_config(&empty, &empty, keys).expect_err("no certificate");
        assert!(err.problem.contains("no CERTIFICATE"), "{err}");
        let err = client_config(Some(&empty), "export.ca_file").expect_err("no CA");
        assert_eq!(err.key, "export.ca_file");
        assert!(client_config(None, "export.ca_file").is_ok());
    }
}
