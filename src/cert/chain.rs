//! The chain as the server sent it (or as the file listed it), with each certificate's role.

use super::model::Certificate;

/// Where a certificate sits in the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The server's own certificate.
    Leaf,
    /// A CA certificate that is not self-signed.
    Intermediate,
    /// A self-signed CA certificate.
    Root,
}

impl Role {
    /// `leaf`, `intermediate`, `root`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Leaf => "leaf",
            Role::Intermediate => "intermediate",
            Role::Root => "root",
        }
    }
}

/// One certificate of a chain.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Position in the order sent (0 = leaf), or in the file. A root found in a local trust store
    /// comes after everything that was sent.
    pub index: usize,
    /// Leaf, intermediate or root.
    pub role: Role,
    /// False for a root that the server did not send but a local trust store supplied.
    pub sent: bool,
    /// Also signed by a different issuer elsewhere (a cross-signed CA).
    pub cross_signed: bool,
    /// The certificate.
    pub cert: Certificate,
}

/// A chain of certificates in the order they were presented.
#[derive(Debug, Clone, Default)]
pub struct Chain {
    /// Entries in index order.
    pub entries: Vec<Entry>,
}

impl Chain {
    /// A chain as a server presented it: the first certificate is the leaf whatever it claims.
    pub fn from_served(certs: Vec<Certificate>) -> Self {
        let entries = certs
            .into_iter()
            .enumerate()
            .map(|(index, cert)| {
                let role = if index == 0 {
                    Role::Leaf
                } else {
                    ca_role(&cert)
                };
                Entry {
                    index,
                    role,
                    sent: true,
                    cross_signed: false,
                    cert,
                }
            })
            .collect();
        Chain { entries }
    }

    /// Certificates from a file: roles come from the certificates themselves, since a file may be a
    /// bundle of roots or a chain in any order.
    pub fn from_file(certs: Vec<Certificate>) -> Self {
        let entries = certs
            .into_iter()
            .enumerate()
            .map(|(index, cert)| {
                let role = if cert.is_ca {
                    ca_role(&cert)
                } else {
                    Role::Leaf
                };
                Entry {
                    index,
                    role,
                    sent: true,
                    cross_signed: false,
                    cert,
                }
            })
            .collect();
        Chain { entries }
    }

    /// The leaf, if the chain has one.
    pub fn leaf(&self) -> Option<&Entry> {
        self.entries.iter().find(|e| e.role == Role::Leaf)
    }

    /// Append a root the server did not send but a local store holds.
    pub fn push_unsent_root(&mut self, cert: Certificate) {
        let index = self.entries.len();
        self.entries.push(Entry {
            index,
            role: Role::Root,
            sent: false,
            cross_signed: false,
            cert,
        });
    }

    /// The certificate at the top of what was sent (the one whose issuer must be an anchor).
    pub fn top_sent(&self) -> Option<&Entry> {
        self.entries.iter().rev().find(|e| e.sent)
    }

    /// Does every sent certificate name the next one as its issuer? Servers that send the chain out
    /// of order, or with extra certificates, break BearSSL, which walks the list in order.
    pub fn is_in_order(&self) -> bool {
        let sent: Vec<_> = self.entries.iter().filter(|e| e.sent).collect();
        sent.windows(2)
            .all(|w| w[0].cert.issuer_der == w[1].cert.subject_der)
    }

    /// DER certificates as presented, for the TLS verifier.
    pub fn ders(&self) -> impl Iterator<Item = &[u8]> {
        self.entries
            .iter()
            .filter(|e| e.sent)
            .map(|e| e.cert.der.as_slice())
    }
}

fn ca_role(cert: &Certificate) -> Role {
    if cert.self_signed {
        Role::Root
    } else {
        Role::Intermediate
    }
}
