//! The clients each identity zone knows, which redirect URIs they may use, and how they authenticate at the token
//! endpoint (`docs/protocols/oidc-ocis.md`, "The lookup server's IdP").
//!
//! The main zone acts out oCIS's built-in IdP (libregraph/lico with `owncloud/ocis` services/idp's default
//! configuration): the ownCloud desktop client, confidential, `application_type: native` with the redirect URIs
//! `http://127.0.0.1` and `http://localhost` — lico lets a native client registered with a loopback URI without a
//! path use any loopback host (`127.0.0.1`, `localhost`, `::1`), any port and any path. The scenario adds a public
//! client `homeport` ([`PublicClient`]) and dynamic registration. The tenants' zones know the public client
//! `homeport-desktop` (any loopback IP, any port), as they always did (`docs/protocols/tenant-by-host.md`).

use axum::http::{header, HeaderMap, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use url::{Host, Url};

use super::{OAuthError, Zone};
use crate::scenario::PublicClient;

/// The ownCloud desktop client every ownCloud desktop app ships and oCIS's IdP knows (public values from the
/// ownCloud client's theme and `owncloud/ocis` services/idp's default clients).
pub const OWNCLOUD_DESKTOP_CLIENT_ID: &str = "xdXOt13JKxym1B1QcEncf2XDkLAexMBFwiT9j6EfhhHFJhs2KM9jbjTmf8JBXE69";
/// Its client secret: public, but lico checks it at the token endpoint all the same.
pub const OWNCLOUD_DESKTOP_CLIENT_SECRET: &str = "UBntmLjC2yYCeHwsyj73Uwo9TAaecAetRwMw0xYcvNL9yRdLSUi0hUAHfvCHFeFh";
/// The public client an admin registers for Homeport (scenario switches `idp_public_client`,
/// `idp_realm_redirect_port`).
pub const PUBLIC_CLIENT_ID: &str = "homeport";
/// The public client of the tenants' identity zones, for providers without dynamic registration.
pub const BUILT_IN_CLIENT_ID: &str = "homeport-desktop";

/// How a client authenticates at the token endpoint (RFC 6749 §2.3, OpenID Connect Core §9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AuthMethod {
    /// A public client: it only names itself.
    None,
    /// `Authorization: Basic` with the form-urlencoded id and secret.
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

impl AuthMethod {
    pub(crate) fn name(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<AuthMethod> {
        [AuthMethod::None, AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost]
            .into_iter()
            .find(|method| method.name() == name)
    }
}

/// Which redirect URIs a client may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Redirects {
    /// lico's native client registered with `http://127.0.0.1` / `http://localhost`: any loopback host, port, path.
    AnyLoopback,
    /// RFC 8252 §7.3 on a loopback IP only: any port, any path (the tenants' built-in client).
    AnyLoopbackIp,
    /// Dynamically registered loopback URIs, as lico checks a native client's: any loopback host and port, the
    /// registered path — or any path for a URI registered without one (`http://127.0.0.1`).
    SamePath(Vec<RegisteredUri>),
    /// Keycloak's `http://127.0.0.1:<port>/*`: a prefix match, so that one port only.
    FixedPort(u16),
    /// The Matrix zone's registered loopback URIs, as MAS compares them: the same host, path and query, any port
    /// (RFC 8252 §7.3; MAS ignores the port of a URI registered without one — this zone of any, so that a client
    /// may keep its registration across listener ports).
    AnyPort(Vec<Url>),
}

impl Redirects {
    /// Whether `uri` is one of these redirect URIs; why not otherwise.
    pub(crate) fn check(&self, uri: &Url) -> Result<(), String> {
        if uri.scheme() != "http" || uri.fragment().is_some() || !uri.username().is_empty() || uri.password().is_some()
        {
            return Err(format!("redirect_uri {uri} is not a plain http loopback URI"));
        }
        let allowed = match self {
            Redirects::AnyLoopback => is_loopback_host(uri),
            Redirects::AnyLoopbackIp => is_loopback_ip(uri),
            Redirects::SamePath(registered) => {
                is_loopback_host(uri)
                    && registered.iter().any(|allowed| allowed.any_path || allowed.uri.path() == uri.path())
            }
            Redirects::FixedPort(port) => {
                uri.host() == Some(Host::Ipv4(std::net::Ipv4Addr::LOCALHOST)) && uri.port() == Some(*port)
            }
            Redirects::AnyPort(registered) => {
                let mut without_port = uri.clone();
                is_loopback_host(uri)
                    && without_port.set_port(None).is_ok()
                    && registered.iter().any(|allowed| {
                        let mut allowed = allowed.clone();
                        allowed.set_port(None).is_ok() && allowed == without_port
                    })
            }
        };
        if allowed {
            Ok(())
        } else {
            Err(format!("redirect_uri {uri} is not registered for this client"))
        }
    }
}

/// A redirect URI as registered (RFC 7591).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RegisteredUri {
    pub(crate) uri: Url,
    /// Registered without a path (`http://127.0.0.1:8080`): lico then takes any path.
    pub(crate) any_path: bool,
}

impl RegisteredUri {
    /// `text` as a client registered it, when it is a native client's loopback redirect URI.
    pub(crate) fn parse(text: &str) -> Option<RegisteredUri> {
        let uri = Url::parse(text).ok().filter(is_native_redirect)?;
        // The URL parser writes `/` for a missing path; the registered text says whether there was one.
        let after_authority = text.split_once("://").map_or("", |(_, rest)| rest);
        let any_path = !after_authority.contains('/');
        Some(RegisteredUri { uri, any_path })
    }
}

/// A client a zone knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Client {
    pub(crate) id: String,
    /// What the consent page calls it.
    pub(crate) name: String,
    /// `None` for a public client.
    pub(crate) secret: Option<String>,
    /// The methods the token endpoint accepts from it.
    pub(crate) methods: Vec<AuthMethod>,
    pub(crate) redirects: Redirects,
}

impl Client {
    fn public(id: &str, redirects: Redirects) -> Client {
        let name = if id == BUILT_IN_CLIENT_ID || id == PUBLIC_CLIENT_ID { "Homeport" } else { id };
        Client { id: id.to_owned(), name: name.to_owned(), secret: None, methods: vec![AuthMethod::None], redirects }
    }

    /// The ownCloud desktop client: lico reads the secret from a Basic header or from the form body alike.
    fn owncloud_desktop() -> Client {
        Client {
            id: OWNCLOUD_DESKTOP_CLIENT_ID.to_owned(),
            name: "ownCloud desktop app".to_owned(),
            secret: Some(OWNCLOUD_DESKTOP_CLIENT_SECRET.to_owned()),
            methods: vec![AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost],
            redirects: Redirects::AnyLoopback,
        }
    }
}

/// The clients a zone has without registration: the main zone's from the scenario, the tenants' built-in one.
pub(crate) fn static_clients(zone: Zone, public_client: Option<PublicClient>) -> Vec<Client> {
    match (zone, public_client) {
        (Zone::Tenant(_), _) => vec![Client::public(BUILT_IN_CLIENT_ID, Redirects::AnyLoopbackIp)],
        // As at MAS, every Matrix client registers itself.
        (Zone::Matrix, _) => Vec::new(),
        (Zone::Main, None) => vec![Client::owncloud_desktop()],
        (Zone::Main, Some(PublicClient::AnyPort)) => {
            vec![Client::owncloud_desktop(), Client::public(PUBLIC_CLIENT_ID, Redirects::AnyLoopback)]
        }
        (Zone::Main, Some(PublicClient::Realm { redirect_port })) => {
            vec![Client::public(PUBLIC_CLIENT_ID, Redirects::FixedPort(redirect_port))]
        }
    }
}

/// What a token request presented to identify its client.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Presented {
    pub(crate) client_id: String,
    pub(crate) secret: Option<String>,
    pub(crate) method: AuthMethod,
}

/// The client credentials of a token request: an `Authorization: Basic` header (RFC 6749 §2.3.1, id and secret
/// form-urlencoded) or `client_id` / `client_secret` in the body, never both ways at once. `Ok(None)` when the
/// request names no client.
pub(crate) fn presented(headers: &HeaderMap, params: &[(String, String)]) -> Result<Option<Presented>, OAuthError> {
    let get = |name: &str| params.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    let body_id = get("client_id");
    let body_secret = get("client_secret");
    let basic = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(value) => {
            let value = value.to_str().unwrap_or_default().trim();
            match value.split_once(' ') {
                Some((scheme, encoded)) if scheme.eq_ignore_ascii_case("basic") => Some(basic_credentials(encoded)?),
                _ => return Err(invalid_client("only Basic client authentication is supported")),
            }
        }
    };
    match basic {
        Some((id, secret)) => {
            if body_secret.is_some() {
                return Err(OAuthError::new(
                    "invalid_request",
                    "the client authenticated twice (Basic and client_secret); RFC 6749 §2.3 allows one method",
                ));
            }
            if body_id.as_ref().is_some_and(|body_id| *body_id != id) {
                return Err(OAuthError::new("invalid_request", "client_id differs from the Basic credentials"));
            }
            // Some libraries name a public client as a Basic user with an empty password.
            let (secret, method) = if secret.is_empty() {
                (None, AuthMethod::None)
            } else {
                (Some(secret), AuthMethod::ClientSecretBasic)
            };
            Ok(Some(Presented { client_id: id, secret, method }))
        }
        None => match body_id {
            Some(client_id) => {
                let method = if body_secret.is_some() { AuthMethod::ClientSecretPost } else { AuthMethod::None };
                Ok(Some(Presented { client_id, secret: body_secret, method }))
            }
            None if body_secret.is_some() => Err(OAuthError::new("invalid_request", "client_secret without client_id")),
            None => Ok(None),
        },
    }
}

fn basic_credentials(encoded: &str) -> Result<(String, String), OAuthError> {
    let malformed = || invalid_client("the Basic credentials are malformed");
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let text = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = text.split_once(':').ok_or_else(malformed)?;
    let unescape = |part: &str| {
        url::form_urlencoded::parse(format!("x={part}").as_bytes()).next().map(|(_, value)| value.into_owned())
    };
    Ok((unescape(id).ok_or_else(malformed)?, unescape(secret).ok_or_else(malformed)?))
}

/// Checks the presented credentials against `client` (found by the presented id).
pub(crate) fn authenticate(client: &Client, presented: &Presented) -> Result<(), OAuthError> {
    match (&client.secret, &presented.secret) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(invalid_client(format!("{} is a public client: it has no secret", client.id))),
        (Some(_), None) => Err(invalid_client(format!(
            "{} is a confidential client: authenticate with {}",
            client.id,
            client.methods.iter().map(|method| method.name()).collect::<Vec<_>>().join(" or ")
        ))),
        (Some(expected), Some(given)) => {
            if !client.methods.contains(&presented.method) {
                return Err(invalid_client(format!(
                    "{} was registered for {}, not {}",
                    client.id,
                    client.methods.iter().map(|method| method.name()).collect::<Vec<_>>().join(" or "),
                    presented.method.name()
                )));
            }
            if constant_time_eq(expected.as_bytes(), given.as_bytes()) {
                Ok(())
            } else {
                Err(invalid_client("the client secret is wrong"))
            }
        }
    }
}

/// RFC 6749 §5.2: `invalid_client` with `401`; the answer carries a `Basic` challenge.
pub(crate) fn invalid_client(description: impl Into<String>) -> OAuthError {
    OAuthError { status: StatusCode::UNAUTHORIZED, error: "invalid_client", description: description.into() }
}

/// Compares secrets without an early exit on the first different byte.
fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len() && left.iter().zip(right).fold(0_u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// lico's `IsLocalNativeHTTPURI`: `localhost`, `127.0.0.1` or `::1`.
fn is_loopback_host(uri: &Url) -> bool {
    matches!(uri.host(), Some(Host::Domain("localhost"))) || is_loopback_ip(uri)
}

fn is_loopback_ip(uri: &Url) -> bool {
    match uri.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

/// A redirect URI a native client may register: http on a loopback host, without fragment or user.
pub(crate) fn is_native_redirect(uri: &Url) -> bool {
    uri.scheme() == "http" && is_loopback_host(uri) && uri.fragment().is_none() && uri.username().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("URL")
    }

    #[test]
    fn the_desktop_client_takes_any_loopback_host_port_and_path_as_lico_does() {
        let desktop = Client::owncloud_desktop();
        for good in [
            "http://127.0.0.1:1234/callback",
            "http://localhost:53682/",
            "http://[::1]:9/any/path?x=1",
            "http://127.0.0.1/homeport/abc/callback",
        ] {
            assert_eq!(desktop.redirects.check(&url(good)), Ok(()), "{good}");
        }
        for bad in ["https://127.0.0.1:1234/cb", "http://example.com/cb", "http://127.0.0.1:1/cb#f", "http://10.0.0.1/"]
        {
            assert!(desktop.redirects.check(&url(bad)).is_err(), "{bad} is refused");
        }
    }

    #[test]
    fn a_realm_client_takes_its_one_port_with_any_path() {
        let realm = Redirects::FixedPort(53682);
        assert_eq!(realm.check(&url("http://127.0.0.1:53682/homeport/x/callback?a=b")), Ok(()), "the prefix");
        for bad in ["http://127.0.0.1:53683/cb", "http://localhost:53682/cb", "http://[::1]:53682/cb"] {
            assert!(realm.check(&url(bad)).is_err(), "{bad}: Keycloak compares the registered prefix");
        }
    }

    #[test]
    fn registered_uris_keep_their_path_on_any_loopback_port_as_at_lico() {
        let registered = |text: &str| Redirects::SamePath(vec![RegisteredUri::parse(text).expect("a loopback URI")]);
        let with_path = registered("http://127.0.0.1:40000/callback");
        assert_eq!(with_path.check(&url("http://127.0.0.1:51000/callback")), Ok(()), "another port");
        assert_eq!(with_path.check(&url("http://localhost:40000/callback")), Ok(()), "lico compares no loopback host");
        assert!(with_path.check(&url("http://127.0.0.1:51000/elsewhere")).is_err(), "another path");
        assert!(with_path.check(&url("http://example.com:40000/callback")).is_err(), "not loopback");
        let without_path = registered("http://127.0.0.1");
        assert_eq!(without_path.check(&url("http://127.0.0.1:5/homeport/abc/callback")), Ok(()), "any path");
        assert!(registered("http://127.0.0.1/").check(&url("http://127.0.0.1:5/cb")).is_err(), "`/` is a path");
        assert_eq!(RegisteredUri::parse("https://127.0.0.1/cb"), None, "not a native loopback URI");
    }

    #[test]
    fn the_matrix_zone_takes_its_registered_uris_on_any_port_with_the_same_host_path_and_query() {
        let registered = Redirects::AnyPort(vec![url("http://127.0.0.1/callback"), url("http://[::1]:40000/cb?x=1")]);
        for good in ["http://127.0.0.1:53777/callback", "http://127.0.0.1/callback", "http://[::1]:5/cb?x=1"] {
            assert_eq!(registered.check(&url(good)), Ok(()), "{good}: any port (RFC 8252 §7.3)");
        }
        for bad in [
            "http://localhost:53777/callback",
            "http://127.0.0.1:53777/other",
            "http://[::1]:40000/cb",
            "http://127.0.0.1:53777/callback#f",
        ] {
            assert!(registered.check(&url(bad)).is_err(), "{bad}: another host, path or query");
        }
    }

    fn basic(id: &str, secret: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
        headers.insert(header::AUTHORIZATION, value.parse().expect("header"));
        headers
    }

    #[test]
    fn credentials_come_from_basic_or_the_body_never_both() {
        let pairs = |fields: &[(&str, &str)]| -> Vec<(String, String)> {
            fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
        };
        let from_basic = presented(&basic("a%3Ab", "s%20t"), &[]).expect("valid").expect("a client");
        assert_eq!(
            from_basic,
            Presented { client_id: "a:b".into(), secret: Some("s t".into()), method: AuthMethod::ClientSecretBasic },
            "RFC 6749 §2.3.1: both parts form-urlencoded"
        );
        let from_body = presented(&HeaderMap::new(), &pairs(&[("client_id", "c"), ("client_secret", "s")]))
            .expect("valid")
            .expect("a client");
        assert_eq!(from_body.method, AuthMethod::ClientSecretPost, "client_secret_post");
        let public = presented(&basic("c", ""), &[]).expect("valid").expect("a client");
        assert_eq!((public.method, public.secret), (AuthMethod::None, None), "an empty Basic password is none");
        let twice = presented(&basic("c", "s"), &pairs(&[("client_secret", "s")]));
        assert_eq!(twice.map_err(|e| e.error), Err("invalid_request"), "two methods at once");
        assert_eq!(presented(&HeaderMap::new(), &[]).ok(), Some(None), "no client named");
    }

    #[test]
    fn the_secret_and_the_method_are_checked() {
        let desktop = Client::owncloud_desktop();
        let with = |secret: Option<&str>, method| Presented {
            client_id: desktop.id.clone(),
            secret: secret.map(str::to_owned),
            method,
        };
        let right = Some(OWNCLOUD_DESKTOP_CLIENT_SECRET);
        assert_eq!(authenticate(&desktop, &with(right, AuthMethod::ClientSecretBasic)), Ok(()), "basic");
        assert_eq!(authenticate(&desktop, &with(right, AuthMethod::ClientSecretPost)), Ok(()), "post");
        for (presented, why) in [
            (with(Some("wrong"), AuthMethod::ClientSecretBasic), "a wrong secret"),
            (with(None, AuthMethod::None), "none"),
        ] {
            let refused = authenticate(&desktop, &presented).expect_err(why);
            assert_eq!((refused.status, refused.error), (StatusCode::UNAUTHORIZED, "invalid_client"), "{why}");
        }
        let post_only = Client { methods: vec![AuthMethod::ClientSecretPost], ..desktop.clone() };
        let basic_refused = authenticate(&post_only, &with(right, AuthMethod::ClientSecretBasic));
        assert!(basic_refused.is_err(), "a client registered for client_secret_post must use it");
        let public = Client::public(PUBLIC_CLIENT_ID, Redirects::AnyLoopback);
        assert!(authenticate(&public, &with(Some("x"), AuthMethod::ClientSecretPost)).is_err(), "no secret to check");
        assert!(
            constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd") && !constant_time_eq(b"a", b"ab")
        );
    }
}
