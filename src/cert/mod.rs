//! Certificates: the chain model, parsing of dumps/PEM/DER/source literals, fingerprints and pin
//! advice. Pure: bytes and `now` in, values out.

pub mod advice;
pub mod chain;
pub mod extract;
pub mod fingerprint;
pub mod lex;
pub mod model;
pub mod report;
pub mod verify;

pub use chain::{Chain, Entry, Role};
pub use extract::{ExtractError, Extracted, InputKind, extract};
pub use fingerprint::Fingerprint;
pub use model::{Certificate, KeyKind};

#[cfg(test)]
pub(crate) mod testutil {
    //! Certificates for unit tests, made with rcgen at fixed dates.
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report

    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

    use super::Certificate;

    /// Root → intermediate → leaf; the leaf lives `leaf_days` from 2026-01-01.
    pub fn chain(leaf_days: i64, intermediate_org: &str) -> Vec<Certificate> {
        let ca = |cn: &str, org: &str| {
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.distinguished_name.push(DnType::OrganizationName, org);
            p.distinguished_name.push(DnType::CommonName, cn);
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.not_before = rcgen::date_time_ymd(2020, 1, 1);
            p.not_after = rcgen::date_time_ymd(2040, 1, 1);
            p
        };
        let root_key = KeyPair::generate().unwrap();
        let root_params = ca("Test Root", "Test");
        let root = root_params.self_signed(&root_key).unwrap();
        let root_issuer = Issuer::new(root_params, root_key);
        let inter_key = KeyPair::generate().unwrap();
        let inter_params = ca("R11", intermediate_org);
        let inter = inter_params.signed_by(&inter_key, &root_issuer).unwrap();
        let inter_issuer = Issuer::new(inter_params, inter_key);
        let leaf_key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(vec!["device.test".to_owned()]).unwrap();
        p.not_before = rcgen::date_time_ymd(2026, 1, 1);
        p.not_after = p.not_before + time::Duration::days(leaf_days);
        let leaf = p.signed_by(&leaf_key, &inter_issuer).unwrap();
        [leaf.der(), inter.der(), root.der()]
            .iter()
            .map(|d| Certificate::from_der(d).unwrap())
            .collect()
    }
}
