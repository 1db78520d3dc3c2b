//! sluice's xDS certificate authority: the CA kept in the state directory, the server's
//! certificate, and the client certificates `sluice bootstrap` puts in a proxy's bootstrap,
//! each naming the one Gateway that proxy may serve.
//!
//! Layout: `{state}/xds-ca/ca-{generation}.pem`, a CA certificate followed by its private key
//! (mode 0600). A new generation is created when none is valid or the newest has less than a
//! fifth of its life left ([`Authority::open`]) or on request ([`Authority::rotate`]); a file
//! is published with `link(2)`, so two processes racing to create one generation agree on one.
//!
//! Which CA signs what keeps rotation seamless: the server's certificate comes from the
//! *oldest* valid CA (every proxy bootstrapped while it was valid trusts it), client
//! certificates from the *newest*, and both sides trust every valid CA.
//!
//! A proxy's identity is the URI SAN `spiffe://sluice/ns/{namespace}/gateway/{name}`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use crate::cache::GatewayId;

/// The DNS name in the server's certificate, which bootstraps verify (whatever address the
/// proxy dials).
pub const SERVER_NAME: &str = "xds.sluice.internal";
/// The prefix of a proxy identity (URI SAN).
const IDENTITY_PREFIX: &str = "spiffe://sluice/ns/";
const CA_LIFETIME: Duration = Duration::from_secs(10 * 365 * 86_400);
const LEAF_LIFETIME: Duration = Duration::from_secs(365 * 86_400);
/// Certificates start a little in the past: clocks of proxies and sluice drift.
const BACKDATE: Duration = Duration::from_secs(3_600);

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("issuing a certificate: {0}")]
    Issue(#[from] rcgen::Error),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A certificate and its private key, PEM.
#[derive(Clone)]
pub struct CertKey {
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for CertKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertKey").finish_non_exhaustive()
    }
}

#[derive(Clone)]
struct Ca {
    generation: u64,
    pair: CertKey,
    /// Unix seconds.
    not_before: i64,
    not_after: i64,
}

/// The valid CAs of a state directory, oldest first (never empty).
#[derive(Clone)]
pub struct Authority {
    dir: PathBuf,
    cas: Vec<Ca>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let generations: Vec<u64> = self.cas.iter().map(|c| c.generation).collect();
        f.debug_struct("Authority")
            .field("dir", &self.dir)
            .field("generations", &generations)
            .finish()
    }
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Authority {
    /// Loads the CAs of `state_dir`, creating the directory and a CA if none is valid at
    /// `now` or the newest has less than a fifth of its life left.
    pub fn open(state_dir: &Path, now: SystemTime) -> Result<Authority, PkiError> {
        let dir = state_dir.join("xds-ca");
        let mut authority = Authority::load(&dir, now)?;
        let renew = match authority.cas.last() {
            None => true,
            Some(ca) => (ca.not_after - unix(now)) * 5 < ca.not_after - ca.not_before,
        };
        if renew {
            authority.create(now)?;
        }
        Ok(authority)
    }

    /// Adds a new CA generation: from now on client certificates come from it; the server
    /// moves to it once the older CAs expire.
    pub fn rotate(state_dir: &Path, now: SystemTime) -> Result<Authority, PkiError> {
        let mut authority = Authority::open(state_dir, now)?;
        authority.create(now)?;
        Ok(authority)
    }

    fn load(dir: &Path, now: SystemTime) -> Result<Authority, PkiError> {
        create_private_dir(dir)?;
        let mut cas = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let path = entry.map_err(io(dir))?.path();
            let Some(generation) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("ca-")?.strip_suffix(".pem"))
                .and_then(|g| g.parse::<u64>().ok())
            else {
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(io(&path))?;
            let ca = parse_ca(generation, &text).map_err(|reason| PkiError::Invalid {
                path: path.clone(),
                reason,
            })?;
            if ca.not_after > unix(now) {
                cas.push(ca);
            }
        }
        cas.sort_by_key(|c| c.generation);
        Ok(Authority {
            dir: dir.to_path_buf(),
            cas,
        })
    }

    /// Creates the next generation, or adopts the one another process created first.
    fn create(&mut self, now: SystemTime) -> Result<(), PkiError> {
        let generation = self.cas.last().map_or(1, |c| c.generation + 1);
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, format!("sluice xDS CA {generation}"));
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = (now - BACKDATE).into();
        params.not_after = (now + CA_LIFETIME).into();
        let cert = params.self_signed(&key)?;
        let text = format!("{}{}", cert.pem(), key.serialize_pem());
        let path = self.dir.join(format!("ca-{generation}.pem"));
        let tmp = self.dir.join(format!(
            ".ca-{generation}.{}.{}",
            std::process::id(),
            now.duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        ));
        write_private(&tmp, &text)?;
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {}
            // Another process published this generation first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(&path)(e)),
        }
        *self = Authority::load(&self.dir, now)?;
        Ok(())
    }

    /// Every valid CA certificate, PEM: what either side trusts.
    pub fn trust_bundle(&self) -> String {
        self.cas.iter().map(|c| c.pair.cert_pem.as_str()).collect()
    }

    /// The generations of the valid CAs, oldest first.
    pub fn generations(&self) -> Vec<u64> {
        self.cas.iter().map(|c| c.generation).collect()
    }

    /// The server's certificate for [`SERVER_NAME`] and `extra_names` (DNS names or IPs),
    /// from the oldest valid CA.
    pub fn server_certificate(
        &self,
        extra_names: &[String],
        now: SystemTime,
    ) -> Result<CertKey, PkiError> {
        let mut names = vec![SERVER_NAME.to_string()];
        names.extend(extra_names.iter().cloned());
        let mut params = CertificateParams::new(names)?;
        params
            .distinguished_name
            .push(DnType::CommonName, SERVER_NAME);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.sign(&self.cas[0], params, now)
    }

    /// A proxy's client certificate naming `gateway` (`namespace/name`), from the newest CA.
    pub fn gateway_certificate(
        &self,
        gateway: &GatewayId,
        now: SystemTime,
    ) -> Result<CertKey, PkiError> {
        let (ns, name) = gateway
            .as_str()
            .split_once('/')
            .expect("a GatewayId has one '/'");
        let uri = format!("{IDENTITY_PREFIX}{ns}/gateway/{name}");
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, gateway.as_str());
        params.subject_alt_names = vec![SanType::URI(uri.try_into()?)];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(self.cas.last().expect("never empty"), params, now)
    }

    fn sign(
        &self,
        ca: &Ca,
        mut params: CertificateParams,
        now: SystemTime,
    ) -> Result<CertKey, PkiError> {
        let ca_key = KeyPair::from_pem(&ca.pair.key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(&ca.pair.cert_pem, ca_key)?;
        let key = KeyPair::generate()?;
        let not_after = UNIX_EPOCH + Duration::from_secs(ca.not_after.max(0) as u64);
        params.not_before = (now - BACKDATE).into();
        params.not_after = (now + LEAF_LIFETIME).min(not_after).into();
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&key, &issuer)?;
        Ok(CertKey {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// The Gateway a verified client certificate (DER) names, if it carries a sluice identity.
pub fn gateway_of_certificate(der: &[u8]) -> Option<GatewayId> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let san = cert.subject_alternative_name().ok()??;
    san.value.general_names.iter().find_map(|n| match n {
        GeneralName::URI(uri) => {
            let (ns, name) = uri.strip_prefix(IDENTITY_PREFIX)?.split_once("/gateway/")?;
            GatewayId::parse(&format!("{ns}/{name}"))
        }
        _ => None,
    })
}

fn parse_ca(generation: u64, text: &str) -> Result<Ca, String> {
    let cert_end = text
        .find("-----END CERTIFICATE-----")
        .ok_or("no certificate")?
        + "-----END CERTIFICATE-----".len();
    let (cert_pem, key_pem) = text.split_at(cert_end);
    let cert_pem = format!("{}\n", cert_pem.trim());
    let key_pem = key_pem.trim().to_string() + "\n";
    KeyPair::from_pem(&key_pem).map_err(|e| format!("private key: {e}"))?;
    let (_, pem) =
        x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).map_err(|e| e.to_string())?;
    let cert = pem.parse_x509().map_err(|e| e.to_string())?;
    let validity = cert.validity();
    Ok(Ca {
        generation,
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
        pair: CertKey { cert_pem, key_pem },
    })
}

fn create_private_dir(dir: &Path) -> Result<(), PkiError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io(dir))
}

fn write_private(path: &Path, text: &str) -> Result<(), PkiError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    f.write_all(text.as_bytes()).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    const YEAR: Duration = Duration::from_secs(365 * 86_400);

    fn der(pem: &str) -> Vec<u8> {
        let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
        p.contents
    }

    #[test]
    fn created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        let a = Authority::open(dir.path(), now).unwrap();
        let b = Authority::open(dir.path(), now).unwrap();
        assert_eq!(a.generations(), vec![1]);
        assert_eq!(a.trust_bundle(), b.trust_bundle());
        let file = dir.path().join("xds-ca/ca-1.pem");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the CA key is private: {mode:o}");
    }

    #[test]
    fn client_certificates_name_their_gateway() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        let ca = Authority::open(dir.path(), now).unwrap();
        let gw = GatewayId::new("infra", "edge.example");
        let pair = ca.gateway_certificate(&gw, now).unwrap();
        assert_eq!(gateway_of_certificate(&der(&pair.cert_pem)), Some(gw));
        let server = ca.server_certificate(&[], now).unwrap();
        assert_eq!(gateway_of_certificate(&der(&server.cert_pem)), None);
        assert_eq!(gateway_of_certificate(b"not a certificate"), None);
    }

    #[test]
    fn rotation_keeps_the_server_on_the_oldest_and_clients_on_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let start = SystemTime::now();
        let first = Authority::open(dir.path(), start).unwrap();
        // Nine years on, less than a fifth of the CA's life is left: a new generation.
        let later = start + 9 * YEAR;
        let renewed = Authority::open(dir.path(), later).unwrap();
        assert_eq!(renewed.generations(), vec![1, 2]);
        assert!(renewed.trust_bundle().starts_with(&first.trust_bundle()));
        let issuer = |pem: &str| {
            let d = der(pem);
            let (_, c) = x509_parser::parse_x509_certificate(&d).unwrap();
            c.issuer().to_string()
        };
        let server = renewed.server_certificate(&[], later).unwrap();
        assert!(issuer(&server.cert_pem).contains("CA 1"));
        let gw = GatewayId::new("a", "b");
        let client = renewed.gateway_certificate(&gw, later).unwrap();
        assert!(issuer(&client.cert_pem).contains("CA 2"));
        // After the first CA expires, only the second is left.
        let after = start + 11 * YEAR;
        assert_eq!(
            Authority::open(dir.path(), after).unwrap().generations(),
            vec![2]
        );
        // Manual rotation adds a generation at once.
        assert_eq!(
            Authority::rotate(dir.path(), later).unwrap().generations(),
            vec![1, 2, 3]
        );
    }

    #[test]
    fn a_damaged_ca_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("xds-ca")).unwrap();
        std::fs::write(dir.path().join("xds-ca/ca-1.pem"), "garbage").unwrap();
        let err = Authority::open(dir.path(), SystemTime::now()).unwrap_err();
        assert!(err.to_string().contains("ca-1.pem"), "{err}");
    }
}
