//! Signatures on approvals and releases, so a sign-off can be checked offline, later, by anyone
//! holding the registry: the signed statement names the content hash approved or released, who,
//! when and why, and `verify` checks each one against the signer's registered public key.
//!
//! Keys are Ed25519. The private half never enters this crate's storage: callers hand the
//! registry a [`Sign`] implementation (the `keys` crate keeps the private key in the OS keyring),
//! and the registry stores only public keys and signatures.

use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier, VerifyingKey};
use serde_json::Value;

/// Something that can sign on behalf of one person.
pub trait Sign: Send {
    /// The public key, as 64 hex digits.
    fn public_key(&self) -> String;
    /// The signature of `message`, as 128 hex digits.
    fn sign(&self, message: &[u8]) -> Result<String, String>;
}

/// A key held in memory. Used for the demo's fictional people (whose private keys are thrown
/// away after seeding) and in tests; real people's keys live in the OS keyring.
pub struct MemorySigner(SigningKey);

impl MemorySigner {
    pub fn from_seed(seed: [u8; 32]) -> Self {
        MemorySigner(SigningKey::from_bytes(&seed))
    }

    /// A new key from the OS random source.
    pub fn generate() -> Result<Self, String> {
        Ok(MemorySigner::from_seed(random_seed()?))
    }

    /// The private key's seed, for storing it (the `keys` crate puts it in the OS keyring).
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
}

/// 32 bytes from the OS random source (full entropy: every bit random, unlike the bytes of a
/// random UUID, six of which are fixed).
pub fn random_seed() -> Result<[u8; 32], String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| format!("the operating system gave no random bytes for a key: {e}"))?;
    Ok(seed)
}

impl std::fmt::Debug for MemorySigner {
    // Never prints the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MemorySigner(public key {})", self.public_key())
    }
}

impl Sign for MemorySigner {
    fn public_key(&self) -> String {
        hex::encode(self.0.verifying_key().to_bytes())
    }

    fn sign(&self, message: &[u8]) -> Result<String, String> {
        Ok(hex::encode(self.0.sign(message).to_bytes()))
    }
}

/// A short, stable id for a public key: the first 16 hex digits of its SHA-256.
pub fn key_id(public_key_hex: &str) -> String {
    promptdesk_content::sha256_hex(public_key_hex.as_bytes())[..16].to_string()
}

/// The exact bytes signed for a statement: canonical JSON (sorted keys, no spaces) of `value`.
pub fn statement_bytes(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    promptdesk_content::write_canonical(value, &mut out);
    out
}

/// Whether `signature_hex` is `public_key_hex`'s signature of `message`.
pub fn verify(public_key_hex: &str, message: &[u8], signature_hex: &str) -> bool {
    let Ok(pk) = hex::decode(public_key_hex) else {
        return false;
    };
    let Ok(pk) = <[u8; 32]>::try_from(pk.as_slice()) else {
        return false;
    };
    let Ok(key) = VerifyingKey::from_bytes(&pk) else {
        return false;
    };
    let Ok(sig) = hex::decode(signature_hex) else {
        return false;
    };
    let Ok(sig) = <[u8; 64]>::try_from(sig.as_slice()) else {
        return false;
    };
    key.verify(message, &Signature::from_bytes(&sig)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_key_and_message() {
        let a = MemorySigner::from_seed([7; 32]);
        assert_ne!(
            MemorySigner::generate().unwrap().public_key(),
            MemorySigner::generate().unwrap().public_key()
        );
        let b = MemorySigner::generate().unwrap();
        let msg = statement_bytes(&serde_json::json!({"b": 1, "a": "x"}));
        assert_eq!(msg, br#"{"a":"x","b":1}"#);
        let sig = a.sign(&msg).unwrap();
        assert!(verify(&a.public_key(), &msg, &sig));
        assert!(!verify(&b.public_key(), &msg, &sig));
        assert!(!verify(&a.public_key(), b"other", &sig));
        assert!(!verify(&a.public_key(), &msg, "00"));
        assert_eq!(key_id(&a.public_key()).len(), 16);
    }

    #[test]
    fn seeds_use_every_bit() {
        // A UUIDv4 fixes 6 of its 128 bits (the version nibble and the variant bits); a seed
        // built from two of them would have bytes 6 and 8 (and 22, 24) never take most values.
        // Over 64 seeds each of those bytes takes well over the 16 values a UUID nibble allows.
        let seeds: Vec<[u8; 32]> = (0..64).map(|_| random_seed().unwrap()).collect();
        for byte in [6, 8, 22, 24] {
            let distinct: std::collections::BTreeSet<u8> = seeds.iter().map(|s| s[byte]).collect();
            assert!(
                distinct.len() > 20,
                "byte {byte} of the seed took only {} values over 64 seeds",
                distinct.len()
            );
            let high_nibbles: std::collections::BTreeSet<u8> =
                seeds.iter().map(|s| s[byte] >> 4).collect();
            assert!(high_nibbles.len() > 4, "byte {byte}'s high nibble is fixed");
        }
    }
}
