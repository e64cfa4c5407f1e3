//! What a person types: a server URL (with or without scheme, pasted from a browser or a
//! WebDAV client) or an account address `user@domain` / `@user:domain`.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use url::Url;

/// The parsed form of the single address field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    /// A server URL, normalised to the base of the installation.
    Server {
        server: ServerUrl,
        /// A user name found in the URL's userinfo (`https://alice@host/`), kept as a login hint.
        login_hint: Option<String>,
    },
    /// `user@domain` or the Matrix form `@user:domain`: the account's home is to be discovered
    /// from the domain (WebFinger, Matrix well-known); the ownCloud central server is `https://domain/`.
    Account {
        user: String,
        domain: String,
        /// Typed as a Matrix ID (`@user:domain`): only Matrix discovery applies.
        matrix: bool,
    },
}

impl Address {
    /// Parses what a person typed.
    ///
    /// Accepted: `cloud.example.com`, `https://cloud.example.com/owncloud/index.php`,
    /// `…/remote.php/webdav/`, `…/status.php`, `http://127.0.0.1:8080`, IDN hosts
    /// (`bücher.example` → punycode), `alice@example.com`, `@alice:example.com`.
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(AddressError::Empty);
        }
        if let Some(bad) = input.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(AddressError::InvalidCharacter(bad));
        }
        if let Some(matrix_id) = input.strip_prefix('@') {
            return parse_matrix_id(matrix_id);
        }
        if let Some((scheme, _)) = input.split_once("://") {
            return parse_server_url(scheme, input);
        }
        // `user@host` only when the `@` comes before any path: `host/a@b` is a URL. A user part
        // with a colon is a URL's userinfo (`alice:password@host`): a server, its password dropped.
        let authority = input.split(['/', '?', '#']).next().unwrap_or(input);
        if let Some((user, domain)) = authority.rsplit_once('@') {
            if authority.len() == input.len() && !user.contains(':') {
                return parse_account(user, domain, false);
            }
        }
        parse_server_url("https", &format!("https://{input}"))
    }

    /// What the person typed as it may be kept and shown (`entered_address`, the UI, `--json`):
    /// trimmed, with a password in the userinfo taken out (`https://alice:pw@host/` →
    /// `https://alice@host/`; `alice:pw@host` → `https://alice@host`, still a server URL). The
    /// user name stays: it is the login hint, and the address parses to the same server again.
    pub fn entered(input: &str) -> String {
        let input = input.trim();
        if input.starts_with('@') {
            return input.to_owned();
        }
        let (scheme, rest) = match input.split_once("://") {
            Some((scheme, rest)) => (format!("{scheme}://"), rest),
            None => (String::new(), input),
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, after) = rest.split_at(authority_end);
        let Some((userinfo, host)) = authority.rsplit_once('@') else { return input.to_owned() };
        let Some((user, _password)) = userinfo.split_once(':') else { return input.to_owned() };
        let scheme = if scheme.is_empty() { "https://".to_owned() } else { scheme };
        match user {
            "" => format!("{scheme}{host}{after}"),
            user => format!("{scheme}{user}@{host}{after}"),
        }
    }

    /// The server to contact first: the URL itself, or `https://domain/` for an account address.
    pub fn server(&self) -> Result<ServerUrl, AddressError> {
        match self {
            Address::Server { server, .. } => Ok(server.clone()),
            Address::Account { domain, .. } => {
                let url = parse_url("https", &format!("https://{domain}/"))?;
                // A domain on this machine (the lookup server, a dev server) speaks plain http;
                // everywhere else an account's server is https.
                let scheme = if is_loopback(&url) { "http" } else { "https" };
                ServerUrl::from_url(parse_url(scheme, &format!("{scheme}://{domain}/"))?)
            }
        }
    }

    /// The user the address names, as the login name to use when none is given separately
    /// (`homeport connect bob@server --password-stdin`, a scenario file without `user`): the whole
    /// `alice@example.com` (a login name is often the e-mail address; a Matrix login takes its
    /// localpart), `@alice:example.org` as a Matrix ID, or the user of a server URL's userinfo
    /// (`https://alice@host/`, as git and curl read it). None for a bare server address.
    pub fn user(&self) -> Option<String> {
        match self {
            Address::Server { login_hint, .. } => login_hint.clone(),
            Address::Account { user, domain, matrix: false } => Some(format!("{user}@{domain}")),
            Address::Account { user, domain, matrix: true } => Some(format!("@{user}:{domain}")),
        }
    }

    /// The login name the address already tells, if any.
    pub fn login_hint(&self) -> Option<&str> {
        match self {
            Address::Server { login_hint, .. } => login_hint.as_deref(),
            Address::Account { .. } => None,
        }
    }
}

fn parse_matrix_id(rest: &str) -> Result<Address, AddressError> {
    let (user, domain) =
        rest.split_once(':').ok_or(AddressError::InvalidAccount("a Matrix ID looks like @user:example.org"))?;
    parse_account(user, domain, true)
}

fn parse_account(user: &str, domain: &str, matrix: bool) -> Result<Address, AddressError> {
    if user.is_empty() {
        return Err(AddressError::InvalidAccount("the part before @ (the user name) is empty"));
    }
    if domain.is_empty() {
        return Err(AddressError::InvalidAccount("the part after @ (the domain) is empty"));
    }
    // Validate the domain (and normalise IDN) by parsing it as a URL host.
    let url = parse_url("https", &format!("https://{domain}/"))?;
    if url.path() != "/" || url.query().is_some() {
        return Err(AddressError::InvalidAccount("the domain must be a host name, like example.com"));
    }
    let domain = host_and_port(&url);
    Ok(Address::Account { user: user.to_owned(), domain, matrix })
}

fn parse_server_url(scheme: &str, input: &str) -> Result<Address, AddressError> {
    let mut url = parse_url(scheme, input)?;
    let login_hint = match url.username() {
        "" => None,
        user => Some(percent_decode(user)),
    };
    // Userinfo, query and fragment never belong to a server's base URL; a password typed into
    // the address field must not be kept anywhere.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    let path = strip_known_suffixes(url.path());
    url.set_path(&path);
    Ok(Address::Server { server: ServerUrl::from_url(url)?, login_hint })
}

fn parse_url(scheme: &str, input: &str) -> Result<Url, AddressError> {
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(AddressError::UnsupportedScheme(scheme));
    }
    let url = Url::parse(input).map_err(|e| match e {
        url::ParseError::EmptyHost => AddressError::MissingHost,
        url::ParseError::InvalidPort => AddressError::InvalidPort,
        url::ParseError::IdnaError | url::ParseError::InvalidDomainCharacter => {
            // The message shows what was typed, never a password in it.
            AddressError::InvalidHost(Address::entered(input))
        }
        other => AddressError::InvalidUrl(other.to_string()),
    })?;
    if url.port() == Some(0) {
        return Err(AddressError::InvalidPort);
    }
    match url.host() {
        None => Err(AddressError::MissingHost),
        Some(url::Host::Domain("")) => Err(AddressError::MissingHost),
        // No DNS name is longer than 253 characters (RFC 1035 §2.3.4): refuse it here, not at DNS.
        Some(url::Host::Domain(name)) if name.trim_end_matches('.').len() > 253 => {
            Err(AddressError::InvalidHost(format!("{}… ({} characters)", &name[..40], name.len())))
        }
        Some(_) => Ok(url),
    }
}

/// Strips what people paste from WebDAV clients and browsers so the base of the installation
/// remains: `index.php`, `remote.php/webdav[/…]`, `status.php`. Until none is left, so the result
/// normalises to itself (`…/remote.php/webdav/index.php`: docs/fuzzing.md).
fn strip_known_suffixes(path: &str) -> String {
    let mut path = path.to_owned();
    let suffixes = ["/remote.php/webdav/", "/remote.php/webdav", "/status.php", "/index.php"];
    while let Some(rest) = suffixes.iter().find_map(|suffix| path.strip_suffix(suffix)) {
        path = rest.to_owned();
    }
    if !path.ends_with('/') {
        path.push('/');
    }
    path
}

fn host_and_port(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => String::new(),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded =
            (bytes[i] == b'%').then(|| s.get(i + 1..i + 3)).flatten().and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What is wrong with a typed address; the message names the problem in plain words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    #[error("the address is empty: type a server URL or an address like alice@example.com")]
    Empty,
    #[error("the address contains a space or control character ({0:?})")]
    InvalidCharacter(char),
    #[error("the scheme {0}:// is not supported: use https:// (or http:// for a local test server)")]
    UnsupportedScheme(String),
    #[error("the address has no host name")]
    MissingHost,
    #[error("the port number is not valid (it must be between 1 and 65535)")]
    InvalidPort,
    #[error("the host name is not valid: {0}")]
    InvalidHost(String),
    #[error("the address is not a valid URL: {0}")]
    InvalidUrl(String),
    #[error("the account address is not valid: {0}")]
    InvalidAccount(&'static str),
}

/// The base URL of a server installation: http(s), a host, no credentials, path ending in `/`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(try_from = "Url", into = "Url")]
pub struct ServerUrl(Url);

impl ServerUrl {
    pub fn from_url(mut url: Url) -> Result<Self, AddressError> {
        if url.scheme() != "https" && url.scheme() != "http" {
            return Err(AddressError::UnsupportedScheme(url.scheme().to_owned()));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(AddressError::MissingHost);
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.set_query(None);
        url.set_fragment(None);
        Ok(ServerUrl(url))
    }

    pub fn as_url(&self) -> &Url {
        &self.0
    }

    /// A URL below this base; `relative` has no leading slash.
    pub fn join(&self, relative: &str) -> Url {
        // Joining a relative path onto a base ending in `/` cannot fail.
        self.0.join(relative).unwrap_or_else(|_| self.0.clone())
    }

    pub fn origin(&self) -> Origin {
        Origin::of(&self.0)
    }

    pub fn is_plain_http(&self) -> bool {
        self.0.scheme() == "http"
    }

    /// Loopback hosts may use plain http without asking (DESIGN.md security rules).
    pub fn is_loopback(&self) -> bool {
        is_loopback(&self.0)
    }
}

impl TryFrom<Url> for ServerUrl {
    type Error = AddressError;
    fn try_from(url: Url) -> Result<Self, Self::Error> {
        ServerUrl::from_url(url)
    }
}

impl From<ServerUrl> for Url {
    fn from(server: ServerUrl) -> Url {
        server.0
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// `scheme://host[:port]` — the unit that credentials are approved for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(transparent)]
pub struct Origin(String);

impl Origin {
    pub fn of(url: &Url) -> Origin {
        Origin(url.origin().ascii_serialization())
    }

    /// Parses an origin as given on a command line: `https://host[:port]`, a trailing slash allowed.
    pub fn parse(input: &str) -> Result<Origin, AddressError> {
        let url = Url::parse(input.trim()).map_err(|e| AddressError::InvalidUrl(e.to_string()))?;
        if url.scheme() != "https" && url.scheme() != "http" {
            return Err(AddressError::UnsupportedScheme(url.scheme().to_owned()));
        }
        if url.host_str().is_none() {
            return Err(AddressError::MissingHost);
        }
        Ok(Origin::of(&url))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether two URLs are on the same site: the same registrable domain (`cloud.example.com` and
/// `login.example.com`, by the Public Suffix List), the same IP address, or both this machine.
/// Scheme and port do not matter; `a.github.io` and `b.github.io` are different sites.
pub fn same_site(a: &Url, b: &Url) -> bool {
    if is_loopback(a) && is_loopback(b) {
        return true;
    }
    fn site(url: &Url) -> Option<String> {
        match url.host()? {
            url::Host::Domain(name) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                let registrable = psl::domain_str(&name).map(str::to_owned);
                Some(registrable.unwrap_or(name))
            }
            other => Some(other.to_string()),
        }
    }
    site(a).is_some_and(|site_a| Some(site_a) == site(b))
}

/// 127.0.0.0/8, ::1, `localhost` and `*.localhost` (RFC 6761 keeps those on this machine). The
/// one rule for "this computer": the plain-http rule, the proxy decision (`proxy.rs`) and the
/// resolver (`http.rs`) all ask it, so `localhost.` is the same everywhere.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(name)) => is_localhost_name(name),
        None => false,
    }
}

/// `localhost` or a name under it, as a name: without case, and with or without the trailing dot
/// of a fully qualified name (`LocalHost.`, `app.localhost.`).
pub fn is_localhost_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(input: &str) -> String {
        match Address::parse(input) {
            Ok(Address::Server { server, .. }) => server.to_string(),
            other => panic!("{input:?} should parse as a server URL, got {other:?}"),
        }
    }

    #[test]
    fn scheme_defaults_to_https() {
        assert_eq!(server("cloud.example.com"), "https://cloud.example.com/");
        assert_eq!(server("cloud.example.com:8443/oc"), "https://cloud.example.com:8443/oc/");
    }

    #[test]
    fn pasted_client_suffixes_are_stripped() {
        for input in [
            "https://example.com/owncloud/index.php",
            "https://example.com/owncloud/remote.php/webdav",
            "https://example.com/owncloud/remote.php/webdav/",
            "https://example.com/owncloud/status.php",
            "example.com/owncloud/",
        ] {
            assert_eq!(server(input), "https://example.com/owncloud/", "input {input}");
        }
    }

    #[test]
    fn userinfo_query_and_fragment_are_dropped_but_the_user_is_a_hint() {
        let parsed = Address::parse("https://alice:pw@example.com/?x=1#frag").expect("valid URL");
        assert_eq!(parsed.login_hint(), Some("alice"), "the user name is kept as a hint");
        let server = parsed.server().expect("server").to_string();
        assert_eq!(server, "https://example.com/", "password, query and fragment must go");
    }

    #[test]
    fn what_was_entered_is_kept_without_a_password() {
        for (typed, kept) in [
            ("  https://alice:oldpassword@example.com/oc/ ", "https://alice@example.com/oc/"),
            ("http://alice:p%40ss:word@127.0.0.1:8080", "http://alice@127.0.0.1:8080"),
            ("https://:oldpassword@example.com/", "https://example.com/"),
            ("alice:oldpassword@example.com", "https://alice@example.com"),
            ("alice:oldpassword@example.com/x@y", "https://alice@example.com/x@y"),
            ("https://alice@example.com/", "https://alice@example.com/"),
            ("alice@example.com", "alice@example.com"),
            ("@alice:matrix.example.org", "@alice:matrix.example.org"),
            ("https://example.com/a:b@c", "https://example.com/a:b@c"),
        ] {
            assert_eq!(Address::entered(typed), kept, "typed {typed:?}");
            assert!(!Address::entered(typed).contains("oldpassword"), "{typed:?}");
            assert_eq!(
                Address::parse(&Address::entered(typed)).and_then(|a| a.server()),
                Address::parse(typed).and_then(|a| a.server()),
                "{typed:?}: what is kept leads to the same server"
            );
        }
        let parsed = Address::parse("alice:oldpassword@example.com").expect("a server URL with userinfo");
        assert_eq!(parsed.login_hint(), Some("alice"), "user:password@host is a URL's userinfo, not an account");
        let error = Address::parse("https://alice:oldpassword@exa<mple.com/").expect_err("a bad host");
        assert!(!error.to_string().contains("oldpassword"), "the error shows no password: {error}");
    }

    #[test]
    fn idn_hosts_become_punycode() {
        assert_eq!(server("bücher.example"), "https://xn--bcher-kva.example/");
    }

    #[test]
    fn plain_http_and_loopback_are_recognised() {
        let parsed = Address::parse("http://127.0.0.1:8080").expect("valid");
        let server = parsed.server().expect("server");
        assert!(server.is_plain_http() && server.is_loopback());
        let remote = Address::parse("http://example.com").expect("valid").server().expect("server");
        assert!(remote.is_plain_http() && !remote.is_loopback());
        assert!(is_loopback(&Url::parse("http://app.localhost/").expect("url")));
        let url = |s: &str| Url::parse(s).expect("url");
        assert!(same_site(&url("https://cloud.example.com/"), &url("https://login.example.com:8443/")), "one site");
        assert!(!same_site(&url("https://cloud.example.com/"), &url("https://idp.example.org/")), "two sites");
        assert!(!same_site(&url("https://a.github.io/"), &url("https://b.github.io/")), "a public suffix");
        assert!(!same_site(&url("https://cloud.example.co.uk/"), &url("https://login.other.co.uk/")), "co.uk");
        assert!(same_site(&url("http://127.0.0.1:1/"), &url("http://localhost:2/")), "this machine");
        assert!(!same_site(&url("https://192.0.2.1/"), &url("https://192.0.2.2/")), "other addresses");
        assert!(is_loopback(&Url::parse("http://[::1]:9/").expect("url")));
        for dotted in ["http://localhost.:9/", "http://LocalHost.:9/", "http://app.localhost.:9/"] {
            assert!(is_loopback(&Url::parse(dotted).expect("url")), "{dotted}: a fully qualified localhost");
        }
        assert!(!is_localhost_name("localhost.example.") && !is_localhost_name("notlocalhost"), "only localhost");
    }

    #[test]
    fn account_addresses_are_recognised() {
        assert_eq!(
            Address::parse("felix@instance2.example.com"),
            Ok(Address::Account { user: "felix".into(), domain: "instance2.example.com".into(), matrix: false })
        );
        assert_eq!(
            Address::parse("@alice:matrix.example.org"),
            Ok(Address::Account { user: "alice".into(), domain: "matrix.example.org".into(), matrix: true })
        );
        let server = Address::parse("test@instance2.com").and_then(|a| a.server());
        assert_eq!(server.map(|s| s.to_string()), Ok("https://instance2.com/".into()));
        let local = Address::parse("@alice:proxy.localhost:4100").and_then(|a| a.server());
        assert_eq!(local.map(|s| s.to_string()), Ok("http://proxy.localhost:4100/".into()), "this machine: http");
    }

    #[test]
    fn the_user_an_address_names_is_its_login_name() {
        let user = |typed: &str| Address::parse(typed).expect("valid").user();
        assert_eq!(user("alice@example.com").as_deref(), Some("alice@example.com"), "an e-mail-like login");
        assert_eq!(user("@bob:matrix.example.org").as_deref(), Some("@bob:matrix.example.org"), "a Matrix ID");
        assert_eq!(user("bob@hs.localhost:8008").as_deref(), Some("bob@hs.localhost:8008"), "with a port");
        assert_eq!(user("https://carol@example.com/oc/").as_deref(), Some("carol"), "a URL's userinfo");
        assert_eq!(user("https://carol:pw@example.com/").as_deref(), Some("carol"), "never the password");
        assert_eq!(user("http://test%40instance2.com@127.0.0.1:1/").as_deref(), Some("test@instance2.com"));
        assert_eq!(user("Alice@Example.COM").as_deref(), Some("Alice@example.com"), "the domain as parsed");
        assert_eq!(user("https://example.com/"), None, "a bare server names nobody");
        assert_eq!(user("example.com/a@b"), None, "an @ in the path is no user");
    }

    #[test]
    fn malformed_input_names_the_problem() {
        assert_eq!(Address::parse("   "), Err(AddressError::Empty));
        assert_eq!(Address::parse("exa mple.com"), Err(AddressError::InvalidCharacter(' ')));
        assert_eq!(Address::parse("ftp://example.com"), Err(AddressError::UnsupportedScheme("ftp".into())));
        assert_eq!(Address::parse("https://"), Err(AddressError::MissingHost));
        assert_eq!(Address::parse("example.com:99999"), Err(AddressError::InvalidPort));
        assert!(matches!(Address::parse("@alice"), Err(AddressError::InvalidAccount(_))));
        assert!(matches!(Address::parse("@example.com"), Err(AddressError::InvalidAccount(_))));
        assert!(matches!(Address::parse("alice@"), Err(AddressError::InvalidAccount(_))));
        assert!(matches!(Address::parse("exa<mple.com"), Err(AddressError::InvalidHost(_))));
    }

    #[test]
    fn origins_compare_by_scheme_host_and_port() {
        let a = Origin::parse("http://127.0.0.1:8080/").expect("origin");
        let b = Origin::of(&Url::parse("http://127.0.0.1:8080/remote.php/webdav/").expect("url"));
        assert_eq!(a, b, "path does not matter for an origin");
        assert_ne!(a, Origin::parse("http://127.0.0.1:8081").expect("origin"), "port does");
        assert_eq!(Origin::parse("https://example.com").expect("origin").as_str(), "https://example.com");
    }
}
