//! Certificates made at test time with rcgen: a private CA with a leaf for
//! `localhost` and `127.0.0.1`, and a self-signed certificate for the same
//! names that no CA vouches for.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// PEM texts for the TLS tests.
pub struct Pki {
    /// The private CA's certificate.
    pub ca: String,
    /// The leaf signed by the CA, then the CA (a chain, leaf first).
    pub chain: String,
    /// The leaf's private key.
    pub key: String,
    /// A self-signed certificate for the same names.
    pub rogue: String,
    /// Its private key.
    pub rogue_key: String,
}

const NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

fn names() -> Vec<String> {
    NAMES.iter().map(|s| s.to_string()).collect()
}

/// A fresh set of certificates.
pub fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "astrix test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params = CertificateParams::new(names()).unwrap();
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();

    let rogue_key = KeyPair::generate().unwrap();
    let rogue = CertificateParams::new(names())
        .unwrap()
        .self_signed(&rogue_key)
        .unwrap();
    Pki {
        ca: ca.pem(),
        chain: format!("{}{}", leaf.pem(), ca.pem()),
        key: leaf_key.serialize_pem(),
        rogue: rogue.pem(),
        rogue_key: rogue_key.serialize_pem(),
    }
}
