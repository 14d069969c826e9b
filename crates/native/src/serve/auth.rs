//! Access tokens: signed, short-lived JWTs (HS256) that carry a subject, an expiry and grants
//! (`publish`, `view`, `admin`), as WHIP (RFC 9725) and LiveKit do.
//!
//! - [`Keyring`]: the secrets a server accepts, by key id (`kid`): the current one signs and
//!   verifies, a previous one (during a rotation) only verifies.
//! - [`Keyring::mint`] makes a token (`aic token`, the development token `aic serve` prints on
//!   loopback); [`Keyring::verify`] checks one: the algorithm must be HS256 (`none` and every
//!   other algorithm are refused before any key is tried), the signature must match the key its
//!   `kid` names, `exp` must be in the future.
//! - [`Principal`]: what a verified token allows, with the checks the routes make.
//!
//! Secrets are never logged or printed; [`Keyring`]'s `Debug` shows key ids only.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The shortest secret accepted, bytes (HS256's key is as strong as its secret).
pub const MIN_SECRET_BYTES: usize = 32;

/// The longest token read, bytes: longer `Authorization` headers are refused unparsed.
pub const MAX_TOKEN_BYTES: usize = 4096;

/// The longest validity `aic token` mints, seconds (7 days): tokens are short-lived.
pub const MAX_TTL_SECONDS: u64 = 7 * 86_400;

/// The clock skew allowed on `exp` and `nbf`, seconds.
pub const LEEWAY_SECONDS: u64 = 5;

/// The environment variable with the signing secret (`aic serve` and `aic token`).
pub const SECRET_ENV: &str = "AIC_AUTH_SECRET";
/// The environment variable with the signing secret's key id.
pub const KID_ENV: &str = "AIC_AUTH_KID";
/// The environment variable with the previous secret (verified only, during a rotation).
pub const PREVIOUS_SECRET_ENV: &str = "AIC_AUTH_PREVIOUS_SECRET";
/// The environment variable with the previous secret's key id.
pub const PREVIOUS_KID_ENV: &str = "AIC_AUTH_PREVIOUS_KID";

/// The key id of the signing secret when none is configured.
pub const DEFAULT_KID: &str = "k1";

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Grant {
    /// Open a WHIP session (bound to the token's `stream` if it names one), read and end the
    /// sessions it opened.
    Publish,
    /// Read the stats and frames of the sessions it names (`sessions`) or of its `stream`.
    View,
    /// Everything: list and end any session, read any, `/metrics` on the HTTP port.
    Admin,
}

impl Grant {
    /// Parses `publish`, `view` or `admin`.
    pub fn parse(s: &str) -> Option<Grant> {
        match s {
            "publish" => Some(Grant::Publish),
            "view" => Some(Grant::View),
            "admin" => Some(Grant::Admin),
            _ => None,
        }
    }
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who the token is for: per-client limits are kept per subject.
    pub sub: String,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// Issued at, Unix seconds.
    #[serde(default)]
    pub iat: u64,
    /// A random token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// What it may do.
    #[serde(default)]
    pub grants: Vec<Grant>,
    /// The stream a `publish` token publishes to and a `view` token may watch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// Session ids a `view` token may read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sessions: Vec<String>,
}

/// Why a token was refused (every one answers `401`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    Missing,
    /// Not a JWT, not base64/JSON, too long, or claims of the wrong shape.
    Malformed,
    /// An algorithm other than HS256 (`none` included).
    Algorithm,
    /// Its `kid` names no key of this server.
    UnknownKey,
    /// The signature does not match.
    Signature,
    /// Past its `exp` (or before its `nbf`).
    Expired,
}

impl AuthError {
    /// A stable code: the error's `code` and the refusal metric's `reason`.
    pub fn code(self) -> &'static str {
        match self {
            AuthError::Missing => "token_missing",
            AuthError::Malformed => "token_malformed",
            AuthError::Algorithm => "token_algorithm",
            AuthError::UnknownKey => "token_unknown_key",
            AuthError::Signature => "token_signature",
            AuthError::Expired => "token_expired",
        }
    }

    /// A message for the client (says nothing about the keys).
    pub fn message(self) -> &'static str {
        match self {
            AuthError::Missing => "send an access token: Authorization: Bearer <token>",
            AuthError::Malformed => "the access token does not parse",
            AuthError::Algorithm => "the access token must be signed with HS256",
            AuthError::UnknownKey | AuthError::Signature => {
                "the access token's signature is not valid"
            }
            AuthError::Expired => "the access token has expired",
        }
    }
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for AuthError {}

/// A secret under its key id.
struct Key {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// The secrets a server accepts: the first signs, every one verifies (by `kid`).
pub struct Keyring {
    keys: Vec<Key>,
    validation: Validation,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|k| k.kid.as_str()).collect();
        f.debug_struct("Keyring").field("kids", &kids).finish()
    }
}

/// 32 bytes from the operating system's random source, as 64 hex digits.
pub fn random_hex(bytes: usize) -> Result<String, String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| format!("the system's random source failed: {e}"))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

impl Keyring {
    /// A keyring of `(kid, secret)` pairs, the signing key first. Secrets shorter than
    /// [`MIN_SECRET_BYTES`], empty or repeated key ids are refused.
    pub fn new(keys: &[(String, String)]) -> Result<Self, String> {
        if keys.is_empty() {
            return Err("no secret".into());
        }
        let mut out: Vec<Key> = Vec::new();
        for (kid, secret) in keys {
            if kid.is_empty() || kid.len() > 64 {
                return Err(format!("key id {kid:?}: use 1 to 64 characters"));
            }
            if out.iter().any(|k| &k.kid == kid) {
                return Err(format!("key id {kid:?} is given twice"));
            }
            if secret.len() < MIN_SECRET_BYTES {
                return Err(format!(
                    "the secret of key {kid:?} has {} bytes; use at least {MIN_SECRET_BYTES} \
                     (e.g. `head -c 32 /dev/urandom | base64`)",
                    secret.len()
                ));
            }
            out.push(Key {
                kid: kid.clone(),
                encoding: EncodingKey::from_secret(secret.as_bytes())
                    .map_err(|e| format!("key {kid:?}: {e}"))?,
                decoding: DecodingKey::from_secret(secret.as_bytes())
                    .map_err(|e| format!("key {kid:?}: {e}"))?,
            });
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Ok(Keyring {
            keys: out,
            validation,
        })
    }

    /// The signing key's id.
    pub fn signing_kid(&self) -> &str {
        &self.keys[0].kid
    }

    /// Signs `claims` with the first key (its `kid` in the header).
    pub fn mint(&self, claims: &Claims) -> Result<String, String> {
        let key = &self.keys[0];
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding)
            .map_err(|e| format!("cannot sign the token: {e}"))
    }

    /// Claims for `sub` with `grants`, valid for `ttl_seconds` from `now_unix`, with a random
    /// `jti`.
    pub fn claims(
        sub: &str,
        grants: Vec<Grant>,
        stream: Option<String>,
        ttl_seconds: u64,
        now_unix: u64,
    ) -> Result<Claims, String> {
        Ok(Claims {
            sub: sub.to_string(),
            exp: now_unix.saturating_add(ttl_seconds),
            iat: now_unix,
            jti: Some(random_hex(16)?),
            grants,
            stream,
            sessions: Vec::new(),
        })
    }

    /// Verifies `token`: HS256 only, the key its `kid` names (the signing key when it names
    /// none), not expired. Never panics on any input.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
            // An algorithm jsonwebtoken does not know, `none` among them.
            ErrorKind::Json(_) => AuthError::Algorithm,
            _ => AuthError::Malformed,
        })?;
        if header.alg != Algorithm::HS256 {
            return Err(AuthError::Algorithm);
        }
        let key = match &header.kid {
            None => &self.keys[0],
            Some(kid) => self
                .keys
                .iter()
                .find(|k| &k.kid == kid)
                .ok_or(AuthError::UnknownKey)?,
        };
        let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &self.validation).map_err(
            |e| match e.kind() {
                ErrorKind::ExpiredSignature | ErrorKind::ImmatureSignature => AuthError::Expired,
                ErrorKind::InvalidSignature => AuthError::Signature,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    AuthError::Algorithm
                }
                _ => AuthError::Malformed,
            },
        )?;
        if data.claims.sub.is_empty() || data.claims.sub.len() > 256 {
            return Err(AuthError::Malformed);
        }
        Ok(Principal {
            claims: data.claims,
            token: token.to_string(),
        })
    }
}

/// A verified token: its claims and the token itself (a WHIP session answers only to the token
/// that opened it).
#[derive(Clone, PartialEq, Eq)]
pub struct Principal {
    /// The claims.
    pub claims: Claims,
    token: String,
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principal")
            .field("sub", &self.claims.sub)
            .field("grants", &self.claims.grants)
            .finish()
    }
}

impl Principal {
    /// Whether it carries `grant` (`admin` carries every grant).
    pub fn has(&self, grant: Grant) -> bool {
        self.claims.grants.contains(&Grant::Admin) || self.claims.grants.contains(&grant)
    }

    /// Whether it is an admin token.
    pub fn is_admin(&self) -> bool {
        self.claims.grants.contains(&Grant::Admin)
    }

    /// The subject.
    pub fn subject(&self) -> &str {
        &self.claims.sub
    }

    /// Whether this is the very token `other` (constant time in the tokens' bytes).
    pub fn same_token(&self, other: &str) -> bool {
        constant_time_eq(self.token.as_bytes(), other.as_bytes())
    }

    /// The token itself (kept by a session as its owner; never logged).
    pub fn token(&self) -> &str {
        &self.token
    }
}

/// Byte equality whose time does not depend on where the bytes differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token of an `Authorization: Bearer <token>` header value, if it is one.
pub fn bearer(value: &[u8]) -> Option<&str> {
    let v = std::str::from_utf8(value).ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0123456789abcdef0123456789abcdef-a";
    const B: &str = "0123456789abcdef0123456789abcdef-b";

    fn ring(keys: &[(&str, &str)]) -> Keyring {
        let keys: Vec<_> = keys
            .iter()
            .map(|(k, s)| (k.to_string(), s.to_string()))
            .collect();
        Keyring::new(&keys).unwrap()
    }

    fn now() -> u64 {
        crate::clock::unix_nanos() / 1_000_000_000
    }

    #[test]
    fn a_minted_token_verifies_with_its_grants() {
        let r = ring(&[("k1", A)]);
        let c = Keyring::claims(
            "alice",
            vec![Grant::Publish],
            Some("cam".into()),
            600,
            now(),
        )
        .unwrap();
        let p = r.verify(&r.mint(&c).unwrap()).unwrap();
        assert_eq!(p.subject(), "alice");
        assert!(p.has(Grant::Publish) && !p.has(Grant::View) && !p.is_admin());
        assert_eq!(p.claims.stream.as_deref(), Some("cam"));
    }

    #[test]
    fn expired_other_secret_and_unknown_kid_are_refused() {
        let r = ring(&[("k1", A)]);
        let old = Keyring::claims("a", vec![Grant::View], None, 0, now() - 3600).unwrap();
        assert_eq!(r.verify(&r.mint(&old).unwrap()), Err(AuthError::Expired));
        let c = Keyring::claims("a", vec![Grant::View], None, 60, now()).unwrap();
        let other = ring(&[("k1", B)]);
        assert_eq!(
            r.verify(&other.mint(&c).unwrap()),
            Err(AuthError::Signature)
        );
        let stranger = ring(&[("k9", A)]);
        assert_eq!(
            r.verify(&stranger.mint(&c).unwrap()),
            Err(AuthError::UnknownKey)
        );
    }

    #[test]
    fn rotation_accepts_both_keys_by_kid() {
        let old = ring(&[("k1", A)]);
        let new = ring(&[("k2", B), ("k1", A)]);
        let c = Keyring::claims("a", vec![Grant::View], None, 60, now()).unwrap();
        assert!(new.verify(&old.mint(&c).unwrap()).is_ok());
        assert!(new.verify(&new.mint(&c).unwrap()).is_ok());
        assert_eq!(new.signing_kid(), "k2");
        // After the rotation the old key is gone.
        let after = ring(&[("k2", B)]);
        assert_eq!(
            after.verify(&old.mint(&c).unwrap()),
            Err(AuthError::UnknownKey)
        );
    }

    #[test]
    fn alg_none_and_garbage_are_refused() {
        let r = ring(&[("k1", A)]);
        let b64 = |s: &str| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
        };
        let claims = format!(r#"{{"sub":"a","exp":{},"grants":["admin"]}}"#, now() + 600);
        for alg in ["none", "None", "HS512", "RS256"] {
            let t = format!(
                "{}.{}.",
                b64(&format!(r#"{{"alg":"{alg}"}}"#)),
                b64(&claims)
            );
            assert_eq!(r.verify(&t), Err(AuthError::Algorithm), "{alg}");
        }
        for t in ["", "x", "a.b.c", "....", &"a".repeat(MAX_TOKEN_BYTES + 1)] {
            assert!(r.verify(t).is_err(), "{t}");
        }
    }

    #[test]
    fn short_secrets_are_refused_and_debug_shows_no_secret() {
        assert!(Keyring::new(&[("k".into(), "short".into())]).is_err());
        let r = ring(&[("k1", A)]);
        assert!(!format!("{r:?}").contains(A));
    }

    #[test]
    fn bearer_header() {
        assert_eq!(bearer(b"Bearer abc"), Some("abc"));
        assert_eq!(bearer(b"bearer  abc "), Some("abc"));
        assert_eq!(bearer(b"Basic abc"), None);
        assert_eq!(bearer(b"Bearer "), None);
        assert_eq!(bearer(&[0xff, 0xfe]), None);
    }
}
