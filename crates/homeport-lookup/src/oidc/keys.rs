//! The provider's ES256 signing key, generated at start, and the JWK that publishes it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::LookupError;

/// The `kid` of the one signing key; clients find it in the JWKS.
pub(crate) const KEY_ID: &str = "homeport-lookup-1";

/// A P-256 key pair: the private half signs tokens, the public half is in the JWKS and verifies them.
pub(crate) struct SigningKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
    x: String,
    y: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &KEY_ID).field("x", &self.x).field("y", &self.y).finish()
    }
}

impl SigningKey {
    /// A fresh key: every start of the lookup server has its own (tokens of an earlier run are invalid).
    pub(crate) fn generate() -> Result<SigningKey, LookupError> {
        let pair = rcgen::KeyPair::generate().map_err(|error| LookupError::Crypto(Box::new(error)))?;
        // rcgen's default is ECDSA P-256: the raw public key is the uncompressed point 0x04 || X || Y.
        let raw = pair.public_key_raw();
        let (Some(&0x04), Some(x), Some(y)) = (raw.first(), raw.get(1..33), raw.get(33..65)) else {
            return Err(LookupError::Crypto("the generated key is not an uncompressed P-256 point".into()));
        };
        if raw.len() != 65 {
            return Err(LookupError::Crypto("the generated key is not an uncompressed P-256 point".into()));
        }
        let x = URL_SAFE_NO_PAD.encode(x);
        let y = URL_SAFE_NO_PAD.encode(y);
        let decoding = DecodingKey::from_ec_components(&x, &y).map_err(|error| LookupError::Crypto(Box::new(error)))?;
        let encoding = EncodingKey::from_ec_der(&pair.serialize_der());
        let key = SigningKey { encoding, decoding, x, y };
        // Fail at start, not at the first login, if the key cannot sign.
        key.sign(&json!({"probe": true})).map_err(|error| LookupError::Crypto(Box::new(error)))?;
        Ok(key)
    }

    /// The public key as a JWK (RFC 7517/7518).
    pub(crate) fn jwk(&self) -> Value {
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": self.x,
            "y": self.y,
            "kid": KEY_ID,
            "alg": "ES256",
            "use": "sig",
        })
    }

    /// A compact JWS (ES256, with `kid`) over `claims`.
    pub(crate) fn sign<T: Serialize>(&self, claims: &T) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(KEY_ID.to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding)
    }

    /// The claims of a token signed by this key for `issuer` and `audience`. `exp` must be present but is not
    /// checked here: the provider checks expiry to the millisecond against its own records.
    pub(crate) fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        issuer: &str,
        audience: &str,
    ) -> Result<T, jsonwebtoken::errors::Error> {
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_exp = false;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        jsonwebtoken::decode::<T>(token, &self.decoding, &validation).map(|data| data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_foreign_keys_fail() {
        let key = SigningKey::generate().expect("a P-256 key");
        let token = key.sign(&json!({"iss": "http://i", "aud": "a", "sub": "s", "exp": 1})).expect("signing works");
        let header = jsonwebtoken::decode_header(&token).expect("a JWS header");
        assert_eq!(header.alg, Algorithm::ES256, "ES256");
        assert_eq!(header.kid.as_deref(), Some(KEY_ID), "the kid names the JWKS entry");
        let claims: Value = key.verify(&token, "http://i", "a").expect("verifies with its own key");
        assert_eq!(claims["sub"], "s", "the claims come back");
        assert!(key.verify::<Value>(&token, "http://other", "a").is_err(), "another issuer is refused");
        assert!(key.verify::<Value>(&token, "http://i", "b").is_err(), "another audience is refused");
        let other = SigningKey::generate().expect("a second key");
        assert!(other.verify::<Value>(&token, "http://i", "a").is_err(), "another key's signature is refused");
        let jwk = key.jwk();
        assert_eq!(jwk["kty"], "EC", "an EC JWK");
        assert_eq!(jwk["x"].as_str().map(str::len), Some(43), "32 bytes base64url without padding");
        assert!(!format!("{key:?}").contains("encoding"), "Debug shows only public parts");
    }
}
