//! OpenID Connect for servers that answer `WWW-Authenticate: Bearer` (oCIS,
//! docs/protocols/oidc-ocis.md) and for tenant identity zones (docs/protocols/tenant-by-host.md).
//! Sans I/O where it pays: discovery documents, WebFinger, registration, the authorization request
//! and callback, and ID-token validation are plain functions over bytes and URLs; the browser's
//! way back is [`crate::loopback::LoopbackCallback`].
//!
//! Security rules kept here: the discovered issuer must equal the one asked for (mix-up
//! defence), PKCE is S256 only, `state` and `nonce` are random per login and checked, exactly
//! one callback is accepted, ID tokens are checked for signature (JWKS), `iss`, `aud`, `exp` and
//! `nonce`.

use std::collections::BTreeMap;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::address::ServerUrl;
use crate::error::{quoting, ConnectError};
use crate::oidc_client::TokenAuth;
use crate::secret::Secret;

mod login;
pub use self::login::{AuthorizationServer, LoginRequest};

/// WebFinger relation naming a server's OpenID issuer (OpenID Connect Discovery §2).
pub const ISSUER_REL: &str = "http://openid.net/specs/connect/1.0/issuer";
/// WebFinger relation naming the oCIS instance that holds an account.
pub const SERVER_INSTANCE_REL: &str = "http://webfinger.owncloud/rel/server-instance";

/// The parts of an OpenID provider's discovery document Homeport uses.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    #[serde(default)]
    pub userinfo_endpoint: Option<Url>,
    pub jwks_uri: Url,
    #[serde(default)]
    pub registration_endpoint: Option<Url>,
    #[serde(default)]
    pub revocation_endpoint: Option<Url>,
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    /// How clients may authenticate at the token endpoint; empty: `client_secret_basic`
    /// (Discovery §3).
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// RFC 9207: the provider names itself (`iss`) in every authorization response, so a
    /// response from another provider (a mix-up) is recognised.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

impl ProviderMetadata {
    /// Every endpoint the document names, each to pass the https rule before it is used.
    pub fn endpoints(&self) -> Vec<&Url> {
        let optional = [&self.userinfo_endpoint, &self.registration_endpoint, &self.revocation_endpoint];
        [&self.authorization_endpoint, &self.token_endpoint, &self.jwks_uri]
            .into_iter()
            .chain(optional.into_iter().flatten())
            .collect()
    }

    /// `<issuer>/.well-known/openid-configuration`: the path is appended to the issuer's own path
    /// (OpenID Connect Discovery §4), so an issuer with a path keeps it.
    pub fn discovery_url(issuer: &Url) -> Url {
        let mut url = issuer.clone();
        let path = format!("{}/.well-known/openid-configuration", issuer.path().trim_end_matches('/'));
        url.set_path(&path);
        url.set_query(None);
        url
    }

    /// Parses the discovery document and checks that it speaks for `expected_issuer` exactly:
    /// a provider that names another issuer could hand out another provider's tokens (mix-up).
    pub fn parse(url: &Url, body: &[u8], expected_issuer: &str) -> Result<Self, ConnectError> {
        let metadata: ProviderMetadata = serde_json::from_slice(body).map_err(|e| ConnectError::InvalidResponse {
            url: url.to_string(),
            what: "OpenID discovery document",
            reason: quoting(&e, body),
        })?;
        if metadata.issuer != expected_issuer {
            return Err(ConnectError::IssuerMismatch { expected: expected_issuer.to_owned(), got: metadata.issuer });
        }
        // The login page goes to the browser and the rest to our client: a `javascript:` or `file:`
        // endpoint is never opened or fetched.
        if let Some(bad) = metadata.endpoints().into_iter().find(|url| !is_http(url)) {
            return Err(ConnectError::InvalidResponse {
                url: url.to_string(),
                what: "OpenID discovery document",
                reason: format!("the endpoint {bad} is not an http(s) URL"),
            });
        }
        // An empty list means the provider does not say; S256 is still what we send.
        if !metadata.code_challenge_methods_supported.is_empty()
            && !metadata.code_challenge_methods_supported.iter().any(|m| m == "S256")
        {
            return Err(ConnectError::InvalidResponse {
                url: url.to_string(),
                what: "OpenID discovery document",
                reason: "the provider does not offer PKCE with S256, which Homeport requires".into(),
            });
        }
        Ok(metadata)
    }
}

fn is_http(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|host| !host.is_empty())
}

/// `GET <server>/.well-known/webfinger?resource=…&rel=…` (RFC 7033).
pub fn webfinger_url(server: &ServerUrl, resource: &str, rel: &str) -> Url {
    let mut url = server.join(".well-known/webfinger");
    url.query_pairs_mut().append_pair("resource", resource).append_pair("rel", rel);
    url
}

/// A JSON Resource Descriptor (RFC 7033 §4.4); oCIS sends it as `application/jrd+json` or
/// `application/json`, both accepted.
#[derive(Clone, Debug, Deserialize)]
struct Jrd {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    links: Vec<JrdLink>,
}

#[derive(Clone, Debug, Deserialize)]
struct JrdLink {
    rel: String,
    #[serde(default)]
    href: Option<String>,
    #[serde(default)]
    titles: BTreeMap<String, String>,
}

fn parse_jrd(url: &Url, body: &[u8]) -> Result<Jrd, ConnectError> {
    serde_json::from_slice(body).map_err(|e| ConnectError::InvalidResponse {
        url: url.to_string(),
        what: "WebFinger answer",
        reason: quoting(&e, body),
    })
}

/// The issuer a server names in WebFinger (rel [`ISSUER_REL`]), exactly as written: the
/// provider's discovery document must repeat it character for character.
pub fn issuer_from_webfinger(url: &Url, body: &[u8]) -> Result<String, ConnectError> {
    let jrd = parse_jrd(url, body)?;
    jrd.links
        .iter()
        .filter(|link| link.rel == ISSUER_REL)
        .filter_map(|link| link.href.clone())
        // An issuer is an http(s) URL (OpenID Connect Discovery §3); `javascript:` or `file:` is a lie.
        .find(|href| Url::parse(href).is_ok_and(|url| is_http(&url)))
        .ok_or_else(|| ConnectError::InvalidResponse {
            url: url.to_string(),
            what: "WebFinger answer",
            reason: "it names no OpenID issuer".into(),
        })
}

/// One instance WebFinger offers for an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct InstanceLink {
    pub url: ServerUrl,
    /// A name to show, if the server gave one (English preferred).
    pub title: Option<String>,
}

impl InstanceLink {
    /// The offered instance a person named by its URL (`--instance`, a scenario's `instance`),
    /// with or without the trailing slash.
    pub fn named<'a>(offered: &'a [InstanceLink], wanted: &str) -> Option<&'a InstanceLink> {
        let wanted = wanted.trim_end_matches('/');
        offered.iter().find(|instance| instance.url.as_url().as_str().trim_end_matches('/') == wanted)
    }
}

/// The instances WebFinger offers for `expected_subject` (rel [`SERVER_INSTANCE_REL`]). The
/// answer must be about the account asked for; several links mean the person chooses.
pub fn instances_from_webfinger(
    url: &Url,
    body: &[u8],
    expected_subject: &str,
) -> Result<Vec<InstanceLink>, ConnectError> {
    let jrd = parse_jrd(url, body)?;
    if !jrd.subject.eq_ignore_ascii_case(expected_subject) {
        return Err(ConnectError::InvalidResponse {
            url: url.to_string(),
            what: "WebFinger answer",
            reason: format!("it describes {:?}, not {expected_subject:?}", jrd.subject),
        });
    }
    let instances: Vec<InstanceLink> = jrd
        .links
        .into_iter()
        .filter(|link| link.rel == SERVER_INSTANCE_REL)
        .filter_map(|link| {
            let url = ServerUrl::from_url(Url::parse(link.href.as_deref()?).ok()?).ok()?;
            let title = link.titles.get("en").or_else(|| link.titles.values().next()).cloned();
            Some(InstanceLink { url, title })
        })
        .collect();
    if instances.is_empty() {
        return Err(ConnectError::InvalidResponse {
            url: url.to_string(),
            what: "WebFinger answer",
            reason: "it names no instance for this account".into(),
        });
    }
    Ok(instances)
}

/// RFC 7591 registration of Homeport as a public native client with a loopback redirect.
pub fn registration_body(redirect_uri: &Url) -> serde_json::Value {
    serde_json::json!({
        "client_name": "Homeport",
        "application_type": "native",
        "redirect_uris": [redirect_uri.as_str()],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
    })
}

/// What a registration answer grants: the client id and, when the provider made Homeport a
/// confidential client after all, its secret and how to send it (RFC 7591 §3.2.1).
#[derive(Clone, Debug, PartialEq)]
pub struct Registration {
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub token_auth: TokenAuth,
}

/// Reads a registration answer.
pub fn registration_from_answer(url: &Url, body: &[u8]) -> Result<Registration, ConnectError> {
    #[derive(Deserialize)]
    struct Registered {
        client_id: String,
        #[serde(default)]
        client_secret: Option<Secret>,
        #[serde(default)]
        token_endpoint_auth_method: Option<String>,
    }
    let registered: Registered = serde_json::from_slice(body).map_err(|e| ConnectError::InvalidResponse {
        url: url.to_string(),
        what: "client registration answer",
        reason: quoting(&e, body),
    })?;
    let client_secret = registered.client_secret.filter(|secret| !secret.is_empty());
    let token_auth = match (registered.token_endpoint_auth_method.as_deref(), &client_secret) {
        (_, None) => TokenAuth::Public,
        (Some("client_secret_post"), Some(_)) => TokenAuth::ClientSecretPost,
        // The default of RFC 7591 §2 for a client with a secret.
        (_, Some(_)) => TokenAuth::ClientSecretBasic,
    };
    Ok(Registration { client_id: registered.client_id, client_secret, token_auth })
}

/// What Homeport reads from a validated ID token.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub preferred_username: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub nonce: Option<String>,
    /// Identity zone of a tenant (docs/protocols/tenant-by-host.md).
    #[serde(default)]
    pub zid: Option<String>,
}

impl IdClaims {
    /// Claims that only name the subject: a plain OAuth 2.0 login has no ID token.
    pub fn subject(iss: &str, sub: &str) -> IdClaims {
        IdClaims {
            iss: iss.to_owned(),
            sub: sub.to_owned(),
            name: None,
            preferred_username: None,
            email: None,
            nonce: None,
            zid: None,
        }
    }
}

/// The userinfo answer (OpenID Connect Core §5.3), checked to be about the ID token's subject:
/// a userinfo response for someone else must not fill in this account (§5.3.2).
pub fn userinfo_for(url: &Url, body: &[u8], claims: &IdClaims) -> Result<IdClaims, ConnectError> {
    #[derive(Deserialize)]
    struct UserInfo {
        sub: String,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        preferred_username: Option<String>,
        #[serde(default)]
        email: Option<String>,
    }
    let info: UserInfo = serde_json::from_slice(body).map_err(|e| ConnectError::InvalidResponse {
        url: url.to_string(),
        what: "userinfo answer",
        reason: quoting(&e, body),
    })?;
    if info.sub != claims.sub {
        return Err(ConnectError::InvalidResponse {
            url: url.to_string(),
            what: "userinfo answer",
            reason: format!("it describes subject {:?}, but the ID token is for {:?}", info.sub, claims.sub),
        });
    }
    let mut merged = claims.clone();
    merged.name = merged.name.or(info.name);
    merged.preferred_username = merged.preferred_username.or(info.preferred_username);
    merged.email = merged.email.or(info.email);
    Ok(merged)
}

/// Checks an ID token: signature with the provider's key named by `kid` (JWKS), `iss`, `aud`,
/// `exp` (60 s leeway for clock skew) and the login's `nonce`.
pub fn validate_id_token(
    token: &str,
    jwks: &JwkSet,
    issuer: &str,
    client_id: &str,
    nonce: &Secret,
) -> Result<IdClaims, ConnectError> {
    let invalid = |reason: String| ConnectError::InvalidIdToken { reason };
    let header = decode_header(token).map_err(|e| invalid(format!("unreadable header: {e}")))?;
    let jwk = match &header.kid {
        Some(kid) => jwks.find(kid),
        None if jwks.keys.len() == 1 => jwks.keys.first(),
        None => None,
    }
    .ok_or_else(|| invalid("signed with a key the provider does not publish".into()))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| invalid(format!("the provider's key is unusable: {e}")))?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 60;
    let claims = decode::<IdClaims>(token, &key, &validation).map_err(|e| invalid(e.to_string()))?.claims;
    if claims.nonce.as_deref() != Some(nonce.expose()) {
        return Err(invalid("the nonce does not match this login (a replayed token?)".into()));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc_client::OidcClient;

    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            issuer: "http://127.0.0.1:4000".into(),
            authorization_endpoint: Url::parse("http://127.0.0.1:4000/authorize").expect("url"),
            token_endpoint: Url::parse("http://127.0.0.1:4000/token").expect("url"),
            userinfo_endpoint: None,
            jwks_uri: Url::parse("http://127.0.0.1:4000/jwks").expect("url"),
            registration_endpoint: None,
            revocation_endpoint: None,
            code_challenge_methods_supported: vec!["S256".into()],
            token_endpoint_auth_methods_supported: Vec::new(),
            authorization_response_iss_parameter_supported: false,
        }
    }

    fn client(id: &str, scopes: &[&str]) -> OidcClient {
        OidcClient {
            client_id: id.into(),
            secret: None,
            token_auth: TokenAuth::Public,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            prompt: Some(crate::oidc_client::DEFAULT_PROMPT.into()),
            source: crate::oidc_client::ClientSource::BuiltIn,
        }
    }

    #[test]
    fn discovery_keeps_the_issuer_path_and_refuses_another_issuer() {
        let issuer = Url::parse("https://idp.example.com/realms/acme").expect("url");
        assert_eq!(
            ProviderMetadata::discovery_url(&issuer).as_str(),
            "https://idp.example.com/realms/acme/.well-known/openid-configuration"
        );
        let url = Url::parse("http://127.0.0.1:4000/.well-known/openid-configuration").expect("url");
        let body = br#"{"issuer":"http://127.0.0.1:4000","authorization_endpoint":"http://127.0.0.1:4000/a",
            "token_endpoint":"http://127.0.0.1:4000/t","jwks_uri":"http://127.0.0.1:4000/j"}"#;
        assert!(ProviderMetadata::parse(&url, body, "http://127.0.0.1:4000").is_ok(), "same issuer");
        let mixed_up = ProviderMetadata::parse(&url, body, "http://127.0.0.1:5000");
        assert!(matches!(mixed_up, Err(ConnectError::IssuerMismatch { .. })), "mix-up defence: {mixed_up:?}");
        let no_s256 = br#"{"issuer":"http://127.0.0.1:4000","authorization_endpoint":"http://127.0.0.1:4000/a",
            "token_endpoint":"http://127.0.0.1:4000/t","jwks_uri":"http://127.0.0.1:4000/j",
            "code_challenge_methods_supported":["plain"]}"#;
        assert!(ProviderMetadata::parse(&url, no_s256, "http://127.0.0.1:4000").is_err(), "PKCE S256 is required");
    }

    #[test]
    fn webfinger_gives_the_issuer_and_the_instances_of_the_right_subject() {
        let url = Url::parse("http://127.0.0.1:4000/.well-known/webfinger").expect("url");
        let issuer = br#"{"subject":"http://127.0.0.1:4000/","links":[{"rel":"http://openid.net/specs/connect/1.0/issuer","href":"http://127.0.0.1:4001"}]}"#;
        assert_eq!(issuer_from_webfinger(&url, issuer).expect("issuer"), "http://127.0.0.1:4001", "kept exactly");
        let two = br#"{"subject":"acct:marie@127.0.0.1:4000","links":[
            {"rel":"http://webfinger.owncloud/rel/server-instance","href":"http://127.0.0.1:4002","titles":{"en":"A"}},
            {"rel":"http://webfinger.owncloud/rel/server-instance","href":"http://127.0.0.1:4003/"},
            {"rel":"other","href":"http://127.0.0.1:4009"}]}"#;
        let instances = instances_from_webfinger(&url, two, "acct:marie@127.0.0.1:4000").expect("instances");
        assert_eq!(instances.len(), 2, "only server-instance links count");
        assert_eq!(instances[0].title.as_deref(), Some("A"));
        assert_eq!(instances[1].url.as_url().as_str(), "http://127.0.0.1:4003/");
        assert!(instances_from_webfinger(&url, two, "acct:einstein@127.0.0.1:4000").is_err(), "another subject");
    }

    #[test]
    fn the_authorization_request_uses_pkce_s256_state_and_nonce() {
        let redirect = Url::parse("http://127.0.0.1:5555/homeport/callback").expect("url");
        let login =
            LoginRequest::new(&metadata(), &client("client-1", &["openid", "profile"]), &redirect, Some("marie"));
        let query: BTreeMap<String, String> = login.url.query_pairs().into_owned().collect();
        assert_eq!(query["code_challenge_method"], "S256");
        assert_eq!(query["redirect_uri"], redirect.as_str());
        assert_eq!(query["scope"], "openid profile");
        assert_eq!(query["prompt"], "select_account consent", "as the ownCloud client: a refresh token needs consent");
        assert_eq!(query["login_hint"], "marie", "the user the person typed");
        assert_eq!(query["nonce"], login.nonce().expose());
        assert!(query["state"].len() >= 16 && query["code_challenge"].len() >= 43, "random enough");
        let other = LoginRequest::new(&metadata(), &client("client-1", &["openid"]), &redirect, None);
        assert!(!other.url.query_pairs().any(|(key, _)| key == "login_hint"), "no hint when nobody was typed");
        assert_ne!(other.nonce().expose(), login.nonce().expose(), "a fresh nonce per login");

        let state = &query["state"];
        let code = login.code_from_callback(&format!("/homeport/callback?code=abc&state={state}")).expect("code");
        assert_eq!(code.expose(), "abc");
        let forged = login.code_from_callback("/homeport/callback?code=abc&state=forged");
        assert!(matches!(forged, Err(ConnectError::LoginRefused { .. })), "wrong state is refused");
        let denied = login.code_from_callback(&format!("/homeport/callback?error=access_denied&state={state}"));
        assert!(matches!(denied, Err(ConnectError::BrowserLoginFailed { .. })), "{denied:?}");
    }

    #[test]
    fn rfc_9207_the_callback_must_come_from_this_logins_issuer() {
        let redirect = Url::parse("http://127.0.0.1:5555/homeport/callback").expect("url");
        let promised = ProviderMetadata { authorization_response_iss_parameter_supported: true, ..metadata() };
        let login = LoginRequest::new(&promised, &client("c", &["openid"]), &redirect, None);
        let state = login.url.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned()).expect("state");
        let at = |extra: &str| login.code_from_callback(&format!("/homeport/callback?code=abc&state={state}{extra}"));
        assert!(at("&iss=http%3A%2F%2F127.0.0.1%3A4000").is_ok(), "the right issuer");
        let mixed = at("&iss=http%3A%2F%2F127.0.0.1%3A6666");
        assert!(matches!(mixed, Err(ConnectError::LoginRefused { .. })), "another issuer (a mix-up): {mixed:?}");
        let missing = at("");
        assert!(matches!(missing, Err(ConnectError::LoginRefused { .. })), "promised but missing: {missing:?}");

        let silent = LoginRequest::new(&metadata(), &client("c", &["openid"]), &redirect, None);
        let state = silent.url.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned()).expect("state");
        assert!(silent.code_from_callback(&format!("/homeport/callback?code=a&state={state}")).is_ok(), "not promised");
        let wrong = silent.code_from_callback(&format!("/homeport/callback?code=a&state={state}&iss=http%3A%2F%2Fx"));
        assert!(wrong.is_err(), "an iss that is present is checked even when not promised");
    }

    #[test]
    fn a_registration_answer_keeps_its_secret_and_auth_method() {
        let url = Url::parse("http://127.0.0.1:4000/register").expect("url");
        let public = registration_from_answer(&url, br#"{"client_id":"c1"}"#).expect("public");
        assert_eq!((public.client_id.as_str(), public.token_auth), ("c1", TokenAuth::Public));
        let confidential = registration_from_answer(
            &url,
            br#"{"client_id":"c2","client_secret":"s2","token_endpoint_auth_method":"client_secret_post"}"#,
        )
        .expect("confidential");
        assert_eq!(confidential.client_secret.as_ref().map(Secret::expose), Some("s2"), "the secret is kept");
        assert_eq!(confidential.token_auth, TokenAuth::ClientSecretPost, "and how to send it");
        let basic = registration_from_answer(&url, br#"{"client_id":"c3","client_secret":"s3"}"#).expect("basic");
        assert_eq!(basic.token_auth, TokenAuth::ClientSecretBasic, "RFC 7591's default with a secret");
    }

    /// A provider key (ES256, as the lookup server uses) and its JWKS.
    fn provider_key() -> (jsonwebtoken::EncodingKey, JwkSet) {
        use base64::Engine as _;
        let key = rcgen::KeyPair::generate().expect("P-256 key");
        let raw = key.public_key_raw();
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let jwks: JwkSet = serde_json::from_value(serde_json::json!({ "keys": [{
            "kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256", "use": "sig",
            "x": b64(&raw[1..33]), "y": b64(&raw[33..65]),
        }]}))
        .expect("jwks");
        let encoding = jsonwebtoken::EncodingKey::from_ec_der(&key.serialize_der());
        (encoding, jwks)
    }

    fn id_token(key: &jsonwebtoken::EncodingKey, claims: serde_json::Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some("k1".into());
        jsonwebtoken::encode(&header, &claims, key).expect("sign")
    }

    #[test]
    fn id_tokens_are_checked_for_signature_issuer_audience_expiry_and_nonce() {
        let (key, jwks) = provider_key();
        let now = crate::account::now_unix();
        let nonce = Secret::new("n-123");
        let claims = |iss: &str, aud: &str, exp: u64, nonce: &str| {
            serde_json::json!({ "iss": iss, "aud": aud, "sub": "u1", "exp": exp, "iat": now,
                                "nonce": nonce, "name": "Albert Einstein" })
        };
        let good = id_token(&key, claims("http://127.0.0.1:4000", "client-1", now + 300, "n-123"));
        let checked = validate_id_token(&good, &jwks, "http://127.0.0.1:4000", "client-1", &nonce).expect("valid");
        assert_eq!(checked.name.as_deref(), Some("Albert Einstein"));

        let cases = [
            ("another issuer", claims("http://127.0.0.1:5000", "client-1", now + 300, "n-123")),
            ("another audience", claims("http://127.0.0.1:4000", "client-2", now + 300, "n-123")),
            ("expired", claims("http://127.0.0.1:4000", "client-1", now - 600, "n-123")),
            ("another login's nonce", claims("http://127.0.0.1:4000", "client-1", now + 300, "n-999")),
        ];
        for (why, claims) in cases {
            let token = id_token(&key, claims);
            let result = validate_id_token(&token, &jwks, "http://127.0.0.1:4000", "client-1", &nonce);
            assert!(matches!(result, Err(ConnectError::InvalidIdToken { .. })), "{why}: {result:?}");
        }
        let (other_key, _) = provider_key();
        let forged = id_token(&other_key, claims("http://127.0.0.1:4000", "client-1", now + 300, "n-123"));
        let result = validate_id_token(&forged, &jwks, "http://127.0.0.1:4000", "client-1", &nonce);
        assert!(matches!(result, Err(ConnectError::InvalidIdToken { .. })), "a bad signature: {result:?}");
    }

    #[test]
    fn userinfo_must_describe_the_id_tokens_subject() {
        let url = Url::parse("http://127.0.0.1:4000/userinfo").expect("url");
        let claims = IdClaims {
            iss: "http://127.0.0.1:4000".into(),
            sub: "u1".into(),
            name: None,
            preferred_username: Some("einstein".into()),
            email: None,
            nonce: None,
            zid: None,
        };
        let merged = userinfo_for(&url, br#"{"sub":"u1","name":"Albert Einstein","email":"a@example.org"}"#, &claims)
            .expect("same subject");
        assert_eq!(merged.name.as_deref(), Some("Albert Einstein"), "userinfo fills in the name");
        assert_eq!(merged.preferred_username.as_deref(), Some("einstein"), "the ID token's claims stay");
        let other = userinfo_for(&url, br#"{"sub":"u2","name":"Someone Else"}"#, &claims);
        assert!(matches!(other, Err(ConnectError::InvalidResponse { .. })), "another subject: {other:?}");
        assert!(userinfo_for(&url, b"<html>", &claims).is_err(), "not JSON");
    }

    #[test]
    fn an_instance_is_named_by_its_url_with_or_without_the_slash() {
        let link = |url: &str| InstanceLink {
            url: ServerUrl::from_url(Url::parse(url).expect("url")).expect("server url"),
            title: None,
        };
        let offered = [link("https://a.example.org/"), link("https://b.example.org/sub/")];
        let named = |wanted| InstanceLink::named(&offered, wanted).map(|i| i.url.to_string());
        assert_eq!(named("https://b.example.org/sub").as_deref(), Some("https://b.example.org/sub/"), "no slash");
        assert_eq!(named("https://a.example.org/").as_deref(), Some("https://a.example.org/"), "with the slash");
        assert_eq!(named("https://c.example.org/"), None, "an instance not offered is not chosen");
    }
}
