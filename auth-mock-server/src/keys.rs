//! Per-pool RSA signing keys, generated in the background so start-up never waits for them.

use std::sync::{Arc, OnceLock};

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest as _, Sha256};

/// One RS256 key: the pair, its `kid` and its JWK modulus.
pub(crate) struct SigningKey {
    kid: String,
    pair: RsaKeyPair,
    modulus_b64: String,
    exponent_b64: String,
    pkcs8: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl SigningKey {
    pub(crate) fn generate() -> Self {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA-2048 key generation");
        let pkcs8 = pair.as_der().expect("a generated key encodes as PKCS#8").as_ref().to_vec();
        Self::from_pair(pair, pkcs8)
    }

    fn from_pkcs8(pkcs8: &[u8]) -> Option<Self> {
        let pair = RsaKeyPair::from_pkcs8(pkcs8).ok()?;
        Some(Self::from_pair(pair, pkcs8.to_vec()))
    }

    fn from_pair(pair: RsaKeyPair, pkcs8: Vec<u8>) -> Self {
        let components = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        // Cognito's kids look like base64 of 32 bytes; a digest of the public key is stable
        // across restarts for a persisted key.
        let kid = STANDARD.encode(Sha256::digest(pair.public_key().as_ref()));
        Self {
            kid,
            modulus_b64: URL_SAFE_NO_PAD.encode(strip_zeros(&components.n)),
            exponent_b64: URL_SAFE_NO_PAD.encode(strip_zeros(&components.e)),
            pair,
            pkcs8,
        }
    }

    /// Signs `header.payload` and returns the complete compact JWT.
    pub(crate) fn sign_jwt(&self, payload: &serde_json::Value) -> String {
        let header = serde_json::json!({ "kid": self.kid, "alg": "RS256" });
        let mut token = URL_SAFE_NO_PAD.encode(header.to_string());
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(payload.to_string()));
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        self.pair
            .sign(&RSA_PKCS1_SHA256, &rng, token.as_bytes(), &mut signature)
            .expect("RSA signing with a valid key");
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(&signature));
        token
    }

    /// Checks a compact RS256 JWT against this key (header `alg` and `kid`, then the RSA
    /// signature) and returns its claims. `None` for anything malformed or not signed by
    /// this key; expiry and the other claims are the caller's business.
    pub(crate) fn verify_jwt(&self, token: &str) -> Option<serde_json::Value> {
        let (signed, signature) = token.rsplit_once('.')?;
        let (header, payload) = signed.split_once('.')?;
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        if header.get("alg")?.as_str()? != "RS256" || header.get("kid")?.as_str()? != self.kid {
            return None;
        }
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        let public = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            self.pair.public_key().as_ref(),
        );
        public.verify(signed.as_bytes(), &signature).ok()?;
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        claims.is_object().then_some(claims)
    }

    /// The public key as a JWK.
    pub(crate) fn jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "alg": "RS256",
            "e": self.exponent_b64,
            "kid": self.kid,
            "kty": "RSA",
            "n": self.modulus_b64,
            "use": "sig",
        })
    }
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len().saturating_sub(1));
    &bytes[first..]
}

/// A pool's two keys (ID tokens and access tokens are signed with different keys, as in
/// Cognito). Generated on a background thread at pool creation; a caller that needs them
/// earlier waits for that one generation instead of starting another.
pub(crate) struct PoolKeys {
    keys: OnceLock<[SigningKey; 2]>,
}

impl std::fmt::Debug for PoolKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolKeys").field("ready", &self.keys.get().is_some()).finish()
    }
}

impl PoolKeys {
    /// Starts generating a fresh pair of keys in the background.
    pub(crate) fn generate_in_background() -> Arc<Self> {
        let keys = Arc::new(Self { keys: OnceLock::new() });
        let worker = Arc::clone(&keys);
        let spawned = std::thread::Builder::new().name("pool-keygen".into()).spawn(move || {
            worker.get();
        });
        if spawned.is_err() {
            tracing::warn!(
                "could not start a key generation thread; keys will be made on first use"
            );
        }
        keys
    }

    /// Restores persisted keys (PKCS#8 DER); `None` if either is unusable.
    pub(crate) fn from_pkcs8(id: &[u8], access: &[u8]) -> Option<Arc<Self>> {
        let pair = [SigningKey::from_pkcs8(id)?, SigningKey::from_pkcs8(access)?];
        let keys = OnceLock::new();
        let _ = keys.set(pair);
        Some(Arc::new(Self { keys }))
    }

    fn get(&self) -> &[SigningKey; 2] {
        self.keys.get_or_init(|| [SigningKey::generate(), SigningKey::generate()])
    }

    /// The key that signs ID tokens.
    pub(crate) fn id_key(&self) -> &SigningKey {
        &self.get()[0]
    }

    /// The ID-token key if it exists yet, without waiting: a token can only verify against
    /// a key that signed it, so a caller checking a token has nothing to wait for.
    pub(crate) fn id_key_if_ready(&self) -> Option<&SigningKey> {
        self.keys.get().map(|[id, _]| id)
    }

    /// The key that signs access tokens.
    pub(crate) fn access_key(&self) -> &SigningKey {
        &self.get()[1]
    }

    /// Both public keys as a JWKS document.
    pub(crate) fn jwks(&self) -> serde_json::Value {
        let [id, access] = self.get();
        serde_json::json!({ "keys": [id.jwk(), access.jwk()] })
    }

    /// Both private keys as PKCS#8 DER (for the state file).
    pub(crate) fn pkcs8(&self) -> [Vec<u8>; 2] {
        let [id, access] = self.get();
        [id.pkcs8.clone(), access.pkcs8.clone()]
    }
}

/// One signing key made on first use (or ahead of it on a background thread), for issuers
/// that most servers never need: the OpenID tokens of the identity pools and the mock OIDC
/// providers.
#[derive(Default)]
pub(crate) struct LazyKey {
    key: OnceLock<SigningKey>,
}

impl std::fmt::Debug for LazyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyKey").field("ready", &self.key.get().is_some()).finish()
    }
}

impl LazyKey {
    /// Starts generating the key on a background thread unless it exists.
    pub(crate) fn prepare_in_background(self: &Arc<Self>) {
        if self.key.get().is_some() {
            return;
        }
        let worker = Arc::clone(self);
        let spawned = std::thread::Builder::new().name("issuer-keygen".into()).spawn(move || {
            worker.get();
        });
        if spawned.is_err() {
            tracing::warn!("could not start a key generation thread; the key is made on first use");
        }
    }

    /// The key if it exists already (a token can only verify against a key that was made).
    pub(crate) fn ready(&self) -> Option<&SigningKey> {
        self.key.get()
    }

    /// A key restored from PKCS#8 DER (the state file); `None` if unusable.
    pub(crate) fn from_pkcs8(der: &[u8]) -> Option<Self> {
        let key = OnceLock::new();
        let _ = key.set(SigningKey::from_pkcs8(der)?);
        Some(Self { key })
    }

    /// Sets a key restored from PKCS#8 DER; false if it is unusable or a key exists already.
    pub(crate) fn restore(&self, der: &[u8]) -> bool {
        SigningKey::from_pkcs8(der).is_some_and(|key| self.key.set(key).is_ok())
    }

    /// The private key as PKCS#8 DER, if it was made.
    pub(crate) fn pkcs8(&self) -> Option<Vec<u8>> {
        self.key.get().map(|key| key.pkcs8.clone())
    }

    /// The key, generated now if needed (concurrent callers wait for one generation).
    pub(crate) fn get(&self) -> &SigningKey {
        self.key.get_or_init(SigningKey::generate)
    }
}
