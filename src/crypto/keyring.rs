//! The key ring: several AES-256 keys with ids, one active. A secret is encrypted with AES-256-GCM
//! under the active key with a fresh random nonce, stored as `v1.<key id>.<base64url(nonce ‖
//! ciphertext)>`, and bound to its record by associated data (table, field, account, record id):
//! a value copied to another row or account fails to decrypt. Lookup tokens are hashed with
//! HMAC-SHA256 under a key derived from each ring key, so a rotation keeps old hashes findable.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use thiserror::Error;
use uuid::Uuid;

use crate::domain::ids::AccountId;

const FORMAT: &str = "v1";
const NONCE_LEN: usize = 12;
const HASH_KEY_LABEL: &[u8] = b"liaison lookup-token hash v1";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeyRingError {
    #[error("the key ring is empty: set LIAISON_SECRET_KEYS to `k1:<base64 of 32 random bytes>`")]
    Empty,
    #[error(
        "key ring entry {0} is not `<id>:<base64 of 32 bytes>` (ids: letters, digits, `-`, `_`)"
    )]
    BadEntry(usize),
    #[error("key id `{0}` appears twice in the key ring")]
    DuplicateId(String),
    #[error("the active key `{0}` is not in the key ring")]
    UnknownActive(String),
    #[error("cannot keep the development key ring: {0}")]
    Io(String),
}

/// Why a stored value could not be decrypted. Never carries the value or a key.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the stored secret is malformed")]
    Malformed,
    #[error("the stored secret was encrypted with key `{0}`, which is not in the key ring")]
    UnknownKey(String),
    #[error("the stored secret does not belong to this record or was altered")]
    Rejected,
}

/// The record a secret belongs to; it is authenticated with the ciphertext.
#[derive(Clone, Copy, Debug)]
pub struct Binding<'a> {
    pub table: &'a str,
    pub field: &'a str,
    pub account_id: Option<AccountId>,
    pub record_id: Uuid,
}

impl Binding<'_> {
    fn associated_data(&self) -> Vec<u8> {
        let account = self
            .account_id
            .map(|a| a.to_string())
            .unwrap_or_else(|| "-".into());
        format!(
            "liaison:{FORMAT}:{}:{}:{account}:{}",
            self.table, self.field, self.record_id
        )
        .into_bytes()
    }
}

struct RingKey {
    id: String,
    cipher: Aes256Gcm,
    hash_key: [u8; 32],
}

pub struct KeyRing {
    keys: Vec<RingKey>,
    active: usize,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("KeyRing")
            .field("keys", &ids)
            .field("active", &self.keys[self.active].id)
            .finish()
    }
}

fn derive_hash_key(key: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(HASH_KEY_LABEL);
    mac.finalize().into_bytes().into()
}

impl KeyRing {
    /// Parses `k1:<base64>,k2:<base64>`; `active` names the encrypting key (default: the last).
    pub fn parse(spec: &SecretString, active: Option<&str>) -> Result<Self, KeyRingError> {
        let mut keys: Vec<RingKey> = Vec::new();
        for (index, entry) in spec
            .expose_secret()
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .enumerate()
        {
            let bad = || KeyRingError::BadEntry(index + 1);
            let (id, material) = entry.split_once(':').ok_or_else(bad)?;
            let valid_id = !id.is_empty()
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            let bytes = STANDARD
                .decode(material.trim())
                .or_else(|_| URL_SAFE_NO_PAD.decode(material.trim()))
                .map_err(|_| bad())?;
            if !valid_id || bytes.len() != 32 {
                return Err(bad());
            }
            if keys.iter().any(|k| k.id == id) {
                return Err(KeyRingError::DuplicateId(id.to_owned()));
            }
            keys.push(RingKey {
                id: id.to_owned(),
                cipher: Aes256Gcm::new_from_slice(&bytes).map_err(|_| bad())?,
                hash_key: derive_hash_key(&bytes),
            });
        }
        if keys.is_empty() {
            return Err(KeyRingError::Empty);
        }
        let active = match active {
            Some(id) => keys
                .iter()
                .position(|k| k.id == id)
                .ok_or_else(|| KeyRingError::UnknownActive(id.to_owned()))?,
            None => keys.len() - 1,
        };
        Ok(Self { keys, active })
    }

    /// The development key ring: generated once and kept in `<dir>/liaison.dev-keys` (mode 0600).
    pub fn development(dir: &Path) -> Result<Self, KeyRingError> {
        let path = dir.join("liaison.dev-keys");
        let spec = match std::fs::read_to_string(&path) {
            Ok(existing) if !existing.trim().is_empty() => existing.trim().to_owned(),
            _ => {
                let mut bytes = [0u8; 32];
                rand::rng().fill_bytes(&mut bytes);
                let spec = format!("dev1:{}", STANDARD.encode(bytes));
                crate::startup::write_private(&path, &spec)
                    .map_err(|e| KeyRingError::Io(e.to_string()))?;
                spec
            }
        };
        Self::parse(&SecretString::from(spec), None)
    }

    pub fn active_id(&self) -> &str {
        &self.keys[self.active].id
    }

    /// Encrypts under the active key with a fresh nonce.
    pub fn encrypt(&self, plaintext: &[u8], binding: &Binding<'_>) -> String {
        let key = &self.keys[self.active];
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let aad = binding.associated_data();
        // Encryption with a valid key and nonce length cannot fail.
        let ciphertext = key
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .unwrap_or_default();
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        format!("{FORMAT}.{}.{}", key.id, URL_SAFE_NO_PAD.encode(sealed))
    }

    /// Decrypts a stored value for the record it belongs to.
    pub fn decrypt(
        &self,
        stored: &str,
        binding: &Binding<'_>,
    ) -> Result<SecretString, CryptoError> {
        let (key_id, sealed) = parse_stored(stored)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == key_id)
            .ok_or_else(|| CryptoError::UnknownKey(key_id.to_owned()))?;
        if sealed.len() <= NONCE_LEN {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Malformed)?;
        let aad = binding.associated_data();
        let plaintext = key
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::Rejected)?;
        String::from_utf8(plaintext)
            .map(SecretString::from)
            .map_err(|_| CryptoError::Malformed)
    }

    /// Whether a stored value is already under the active key.
    pub fn is_current(&self, stored: &str) -> bool {
        parse_stored(stored).is_ok_and(|(key_id, _)| key_id == self.active_id())
    }

    /// The keyed hash to store for a lookup token (active key).
    pub fn keyed_hash(&self, token: &str) -> String {
        hash_with(&self.keys[self.active].hash_key, token)
    }

    /// The token's hash under every key of the ring: a lookup matches any of them, so tokens
    /// issued before a rotation still resolve.
    pub fn keyed_hash_candidates(&self, token: &str) -> Vec<String> {
        self.keys
            .iter()
            .map(|k| hash_with(&k.hash_key, token))
            .collect()
    }
}

fn hash_with(key: &[u8; 32], token: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(token.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn parse_stored(stored: &str) -> Result<(&str, Vec<u8>), CryptoError> {
    let mut parts = stored.splitn(3, '.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(FORMAT), Some(key_id), Some(sealed)) => Ok((
            key_id,
            URL_SAFE_NO_PAD
                .decode(sealed)
                .map_err(|_| CryptoError::Malformed)?,
        )),
        _ => Err(CryptoError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> String {
        STANDARD.encode([byte; 32])
    }

    fn ring(spec: &str, active: Option<&str>) -> KeyRing {
        KeyRing::parse(&SecretString::from(spec.to_owned()), active).expect("valid ring")
    }

    fn binding(record: Uuid) -> Binding<'static> {
        Binding {
            table: "connections",
            field: "secrets",
            account_id: None,
            record_id: record,
        }
    }

    #[test]
    fn a_secret_round_trips_and_its_ciphertext_hides_it() {
        let ring = ring(&format!("k1:{}", key(1)), None);
        let record = Uuid::new_v4();
        let stored = ring.encrypt(b"hunter2-api-key", &binding(record));
        assert!(!stored.contains("hunter2"));
        assert!(stored.starts_with("v1.k1."));
        let plain = ring.decrypt(&stored, &binding(record)).unwrap();
        assert_eq!(plain.expose_secret(), "hunter2-api-key");
        assert_ne!(
            stored,
            ring.encrypt(b"hunter2-api-key", &binding(record)),
            "fresh nonce each time"
        );
    }

    #[test]
    fn a_secret_moved_to_another_record_or_account_fails() {
        let ring = ring(&format!("k1:{}", key(1)), None);
        let record = Uuid::new_v4();
        let stored = ring.encrypt(b"secret", &binding(record));
        assert_eq!(
            ring.decrypt(&stored, &binding(Uuid::new_v4())).unwrap_err(),
            CryptoError::Rejected
        );
        let other_account = Binding {
            account_id: Some(AccountId::new()),
            ..binding(record)
        };
        assert_eq!(
            ring.decrypt(&stored, &other_account).unwrap_err(),
            CryptoError::Rejected
        );
        let other_field = Binding {
            field: "settings",
            ..binding(record)
        };
        assert_eq!(
            ring.decrypt(&stored, &other_field).unwrap_err(),
            CryptoError::Rejected
        );
    }

    #[test]
    fn old_keys_still_decrypt_and_hashes_still_match_after_rotation() {
        let old = ring(&format!("k1:{}", key(1)), None);
        let record = Uuid::new_v4();
        let stored = old.encrypt(b"secret", &binding(record));
        let hash = old.keyed_hash("lnk_token");
        let rotated = ring(&format!("k1:{},k2:{}", key(1), key(2)), Some("k2"));
        assert_eq!(
            rotated
                .decrypt(&stored, &binding(record))
                .unwrap()
                .expose_secret(),
            "secret"
        );
        assert!(!rotated.is_current(&stored));
        assert!(rotated.is_current(&rotated.encrypt(b"secret", &binding(record))));
        assert!(rotated.keyed_hash_candidates("lnk_token").contains(&hash));
        assert_ne!(rotated.keyed_hash("lnk_token"), hash);
        let without_old = ring(&format!("k2:{}", key(2)), None);
        assert_eq!(
            without_old.decrypt(&stored, &binding(record)).unwrap_err(),
            CryptoError::UnknownKey("k1".into())
        );
    }

    #[test]
    fn bad_rings_are_refused() {
        let parse =
            |spec: &str, active| KeyRing::parse(&SecretString::from(spec.to_owned()), active);
        assert_eq!(parse("", None).unwrap_err(), KeyRingError::Empty);
        assert_eq!(
            parse("k1:short", None).unwrap_err(),
            KeyRingError::BadEntry(1)
        );
        assert_eq!(
            parse(&format!("k1:{0},k1:{0}", key(1)), None).unwrap_err(),
            KeyRingError::DuplicateId("k1".into())
        );
        assert_eq!(
            parse(&format!("k1:{}", key(1)), Some("k9")).unwrap_err(),
            KeyRingError::UnknownActive("k9".into())
        );
        assert!(!format!("{:?}", ring(&format!("k1:{}", key(1)), None)).contains(&key(1)));
    }

    #[test]
    fn tampering_is_detected() {
        let ring = ring(&format!("k1:{}", key(1)), None);
        let record = Uuid::new_v4();
        let stored = ring.encrypt(b"secret", &binding(record));
        let mut bytes = URL_SAFE_NO_PAD
            .decode(stored.rsplit('.').next().unwrap())
            .unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = format!("v1.k1.{}", URL_SAFE_NO_PAD.encode(bytes));
        assert_eq!(
            ring.decrypt(&tampered, &binding(record)).unwrap_err(),
            CryptoError::Rejected
        );
        assert_eq!(
            ring.decrypt("plaintext", &binding(record)).unwrap_err(),
            CryptoError::Malformed
        );
    }
}
