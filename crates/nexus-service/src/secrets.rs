//! Secrets Nexus must be able to read back (Auth0 Management client
//! secrets) are kept sealed: XChaCha20-Poly1305 under a key the operator
//! provides, with a random nonce per secret. The stored form names the key
//! it was sealed with, so keys can be rotated: the current key seals, the
//! current and previous keys open, and start-up re-seals what an older key
//! sealed.

use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

const PREFIX: &str = "nxs1";
const NONCE_LEN: usize = 24;

/// A 256-bit sealing key and its short public id.
pub struct SecretKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({})", self.id)
    }
}

impl SecretKey {
    /// 32 bytes written as base64 (standard or URL-safe, padded or not) or
    /// as 64 hex digits. Surrounding whitespace (a key file's newline) is
    /// ignored.
    pub fn parse(text: &str) -> Result<SecretKey, String> {
        let text = text.trim();
        let bytes = decode_key(text).ok_or_else(|| {
            "a secret key must be 32 random bytes, as base64 or 64 hex digits (e.g. `openssl rand -base64 32`)"
                .to_owned()
        })?;
        let id = Sha256::digest(bytes)[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(SecretKey {
            id,
            cipher: XChaCha20Poly1305::new((&bytes).into()),
        })
    }

    /// The key's public id: the first 8 hex digits of its SHA-256.
    pub fn id(&self) -> &str {
        &self.id
    }
}

fn decode_key(text: &str) -> Option<[u8; 32]> {
    let bytes = if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        (0..32)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok())
            .collect::<Option<Vec<u8>>>()?
    } else {
        let unpadded = text.trim_end_matches('=');
        URL_SAFE_NO_PAD
            .decode(unpadded.replace('+', "-").replace('/', "_"))
            .ok()?
    };
    bytes.try_into().ok()
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("no secret key is configured (NEXUS_SECRET_KEY or NEXUS_SECRET_KEY_FILE)")]
    NoKey,
    #[error("the secret was sealed with key {0}, which is not configured")]
    UnknownKey(String),
    #[error("the sealed secret is damaged or was not sealed by Nexus")]
    Damaged,
}

/// Seals with the current key; opens with the current or a previous one.
/// Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Sealer {
    current: Option<Arc<SecretKey>>,
    previous: Vec<Arc<SecretKey>>,
}

impl Sealer {
    pub fn new(current: Option<SecretKey>, previous: Vec<SecretKey>) -> Sealer {
        Sealer {
            current: current.map(Arc::new),
            previous: previous.into_iter().map(Arc::new).collect(),
        }
    }

    pub fn has_key(&self) -> bool {
        self.current.is_some()
    }

    pub fn seal(&self, plain: &str) -> Result<String, SealError> {
        let key = self.current.as_ref().ok_or(SealError::NoKey)?;
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce[..]);
        let sealed = key
            .cipher
            .encrypt(XNonce::from_slice(&nonce), plain.as_bytes())
            .map_err(|_| SealError::Damaged)?;
        let mut payload = nonce.to_vec();
        payload.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}:{}:{}", key.id, STANDARD.encode(payload)))
    }

    pub fn open(&self, stored: &str) -> Result<String, SealError> {
        let (key_id, payload) = parse_sealed(stored).ok_or(SealError::Damaged)?;
        let key = self
            .keys()
            .find(|k| k.id == key_id)
            .ok_or_else(|| SealError::UnknownKey(key_id.to_owned()))?;
        let payload = STANDARD.decode(payload).map_err(|_| SealError::Damaged)?;
        if payload.len() <= NONCE_LEN {
            return Err(SealError::Damaged);
        }
        let (nonce, sealed) = payload.split_at(NONCE_LEN);
        let plain = key
            .cipher
            .decrypt(XNonce::from_slice(nonce), sealed)
            .map_err(|_| SealError::Damaged)?;
        String::from_utf8(plain).map_err(|_| SealError::Damaged)
    }

    /// The stored value sealed with the current key, or `None` when it
    /// already is. A value sealed with a previous key is opened and sealed
    /// again; one without the sealed form is plain text kept by a Nexus that
    /// did not seal yet. An error when the configured keys cannot read it.
    pub fn reseal(&self, stored: &str) -> Result<Option<String>, SealError> {
        let current = self.current.as_ref().ok_or(SealError::NoKey)?;
        let plain = match parse_sealed(stored) {
            Some((key_id, _)) => {
                let plain = self.open(stored)?;
                if key_id == current.id {
                    return Ok(None);
                }
                plain
            }
            None => stored.to_owned(),
        };
        self.seal(&plain).map(Some)
    }

    fn keys(&self) -> impl Iterator<Item = &Arc<SecretKey>> {
        self.current.iter().chain(&self.previous)
    }
}

fn parse_sealed(stored: &str) -> Option<(&str, &str)> {
    let rest = stored.strip_prefix(PREFIX)?.strip_prefix(':')?;
    rest.split_once(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    const K2_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn key(text: &str) -> SecretKey {
        SecretKey::parse(text).unwrap()
    }

    #[test]
    fn keys_are_32_bytes_in_base64_or_hex() {
        assert_eq!(key(K1).id().len(), 8);
        assert_eq!(key(&format!("{K1}\n")).id(), key(K1).id());
        assert_ne!(key(K2_HEX).id(), key(K1).id());
        assert!(SecretKey::parse("c2hvcnQ=").is_err());
        assert!(SecretKey::parse("").is_err());
        assert!(SecretKey::parse(&K2_HEX[..62]).is_err());
    }

    #[test]
    fn sealed_secrets_open_and_differ_each_time() {
        let sealer = Sealer::new(Some(key(K1)), vec![]);
        let a = sealer.seal("client-secret").unwrap();
        let b = sealer.seal("client-secret").unwrap();
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(!a.contains("client-secret"));
        assert_eq!(sealer.open(&a).unwrap(), "client-secret");
        assert_eq!(sealer.reseal(&a), Ok(None));
    }

    #[test]
    fn rotation_opens_with_previous_keys_and_reseals() {
        let old = Sealer::new(Some(key(K1)), vec![]);
        let sealed = old.seal("s3cret").unwrap();
        let rotated = Sealer::new(Some(key(K2_HEX)), vec![key(K1)]);
        assert_eq!(rotated.open(&sealed).unwrap(), "s3cret");
        let resealed = rotated.reseal(&sealed).unwrap().unwrap();
        assert!(resealed.starts_with(&format!("nxs1:{}:", key(K2_HEX).id())));
        assert_eq!(rotated.open(&resealed).unwrap(), "s3cret");
        let only_new = Sealer::new(Some(key(K2_HEX)), vec![]);
        assert_eq!(
            only_new.open(&sealed),
            Err(SealError::UnknownKey(key(K1).id().to_owned()))
        );
    }

    #[test]
    fn tampering_and_missing_keys_are_refused() {
        let sealer = Sealer::new(Some(key(K1)), vec![]);
        let sealed = sealer.seal("s3cret").unwrap();
        let mut bytes = sealed.clone().into_bytes();
        let last = bytes.len() - 3;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert_eq!(sealer.open(&tampered), Err(SealError::Damaged));
        assert_eq!(Sealer::default().seal("x"), Err(SealError::NoKey));
        assert_eq!(Sealer::default().reseal("plain"), Err(SealError::NoKey));
        let from_plain = sealer.reseal("plain").unwrap().unwrap();
        assert_eq!(sealer.open(&from_plain).unwrap(), "plain");
    }
}
