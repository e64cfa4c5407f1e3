//! Which proxy a request goes through: the person's manual proxy if there is one, else the
//! system's: the environment's (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`) when one is
//! set, else GNOME's settings ([`gnome`]) — except for loopback.

pub mod gnome;
mod system;

pub use system::{ProxyScheme, SchemeProxy, SystemProxy};

use std::fmt;

use url::Url;

use crate::secret::Secret;

/// A proxy the person chose by hand (`--proxy`, later the app's settings): `http://host:port`
/// (plain requests forwarded, https tunnelled with CONNECT) or `socks5://host:port` (`socks5h`:
/// the proxy resolves names). It replaces the environment's proxies and, unlike them, applies to
/// loopback servers too: it is an explicit choice, so Homeport does not second-guess it.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxySettings {
    /// Scheme, host and port only: credentials live in `user` and `password`, so this can be shown.
    url: Url,
    pub user: Option<String>,
    pub password: Option<Secret>,
}

const SCHEMES: [&str; 4] = ["http", "https", "socks5", "socks5h"];

impl ProxySettings {
    /// Reads `http://host:port` or `socks5://host:port`. Credentials in the URL are refused rather
    /// than taken: a password there ends up in shell history and process lists.
    pub fn parse(text: &str, user: Option<String>, password: Option<Secret>) -> Result<Self, String> {
        let url = Url::parse(text.trim()).map_err(|e| format!("{text:?} is not a proxy URL ({e})"))?;
        if !SCHEMES.contains(&url.scheme()) {
            return Err(format!(
                "{text:?}: a proxy is http://host:port or socks5://host:port, not {}://",
                url.scheme()
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("put the proxy's user name and password in their own options, not in the URL".into());
        }
        if url.host_str().is_none() {
            return Err(format!("{text:?}: the proxy URL has no host"));
        }
        if (url.path() != "/" && !url.path().is_empty()) || url.query().is_some() {
            return Err(format!("{text:?}: a proxy URL is scheme://host:port, without a path"));
        }
        if password.is_some() && user.is_none() {
            return Err("a proxy password needs a proxy user name".into());
        }
        Ok(ProxySettings { url, user, password })
    }

    /// `http://127.0.0.1:8888`: what messages name; never the credentials.
    pub fn display(&self) -> String {
        // Not `Url::origin`: that is opaque ("null") for socks5.
        let host = self.url.host_str().unwrap_or_default();
        match self.url.port() {
            Some(port) => format!("{}://{host}:{port}", self.url.scheme()),
            None => format!("{}://{host}", self.url.scheme()),
        }
    }

    /// An HTTP proxy (rather than SOCKS): plain-http requests travel over its connection.
    pub fn is_http(&self) -> bool {
        matches!(self.url.scheme(), "http" | "https")
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    pub(crate) fn to_reqwest(&self) -> Result<reqwest::Proxy, String> {
        let mut url = self.url.clone();
        if let Some(user) = &self.user {
            // In the URL rather than `Proxy::basic_auth`: reqwest reads SOCKS5 credentials only
            // from there, and it works for HTTP proxies alike. The URL never leaves this function.
            url.set_username(user).map_err(|()| "the proxy URL cannot carry a user name".to_owned())?;
            url.set_password(self.password.as_ref().map(Secret::expose))
                .map_err(|()| "the proxy URL cannot carry a password".to_owned())?;
        }
        reqwest::Proxy::all(url.as_str()).map_err(|e| format!("the proxy {} cannot be used: {e}", self.display()))
    }
}

impl fmt::Debug for ProxySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxySettings")
            .field("url", &self.display())
            .field("user", &self.user)
            .field("password", &self.password)
            .finish()
    }
}

/// Hosts that never go through an environment proxy, whatever `NO_PROXY` says: loopback servers
/// (the lookup server, `*.localhost` demo hosts, a local sync daemon) are on this computer, and a
/// proxy elsewhere cannot reach them — or, worse, reaches *its own* loopback and answers for a
/// different server, with the person's password in the request. reqwest excludes nothing by
/// default. The decision is [`crate::address::is_loopback`], the plain-http rule's own: a
/// `NO_PROXY` list of names would miss `localhost.` (hyper-util compares names as written).
fn excluding_loopback(target: String, scheme: Option<&'static str>, no_proxy: &str) -> Result<reqwest::Proxy, String> {
    let proxy_url = Url::parse(&target).map_err(|e| e.to_string())?;
    // The person's own NO_PROXY (or GNOME's ignore-hosts), matched as reqwest would.
    let others = hyper_util::client::proxy::matcher::Matcher::builder().all(target).no(no_proxy).build();
    Ok(reqwest::Proxy::custom(move |url| {
        if scheme.is_some_and(|scheme| url.scheme() != scheme) || crate::address::is_loopback(url) {
            return None;
        }
        let uri: http::Uri = url.as_str().parse().ok()?;
        others.intercept(&uri).map(|_| proxy_url.clone())
    }))
}

/// The environment's proxies with loopback excluded, in the order reqwest consults them: the
/// scheme's own variable before `ALL_PROXY`, as curl and reqwest's own defaults do.
pub(crate) fn environment() -> Vec<reqwest::Proxy> {
    let var = |names: &[&str]| names.iter().find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()));
    let no_proxy = var(&["NO_PROXY", "no_proxy"]).unwrap_or_default();
    // Under CGI, HTTP_PROXY can be set by a request header ("httpoxy"): ignored there, as reqwest does.
    let cgi = std::env::var_os("REQUEST_METHOD").is_some();
    let mut proxies = Vec::new();
    let mut add = |value: Option<String>, scheme: Option<&'static str>| {
        let Some(value) = value else { return };
        let value = if value.contains("://") { value } else { format!("http://{value}") };
        // An unusable variable is ignored, as reqwest's own environment reading does.
        if let Ok(proxy) = excluding_loopback(value, scheme, &no_proxy) {
            proxies.push(proxy);
        }
    };
    if !cgi {
        add(var(&["HTTP_PROXY", "http_proxy"]), Some("http"));
    }
    add(var(&["HTTPS_PROXY", "https_proxy"]), Some("https"));
    add(var(&["ALL_PROXY", "all_proxy"]), None);
    if proxies.is_empty() {
        // No variable: GNOME's settings (Settings → Network → Proxy), as GNOME programs use them.
        if let Some(settings) = gnome::GnomeProxy::read_cached() {
            proxies = gnome_proxies(&settings);
        }
    }
    proxies
}

/// GNOME's manual proxies with `ignore-hosts` and loopback excluded; none for `none` and `auto`
/// (a PAC file is not evaluated: [`system_words`] says so).
pub(crate) fn gnome_proxies(settings: &gnome::GnomeProxy) -> Vec<reqwest::Proxy> {
    let no_proxy = settings.no_proxy();
    let mut proxies = Vec::new();
    for (scheme, url) in settings.proxy_urls() {
        let scheme = match scheme {
            gnome::Scheme::Http => Some("http"),
            gnome::Scheme::Https => Some("https"),
            gnome::Scheme::All => None,
        };
        // An unusable host is ignored, as an unusable environment variable is.
        if let Ok(proxy) = excluding_loopback(url, scheme, &no_proxy) {
            proxies.push(proxy);
        }
    }
    proxies
}

/// What "the system's proxy settings" mean on this computer now, in words (the desktop's proxy
/// page): the environment's variables, GNOME's settings (a PAC file named as not evaluated), or none.
pub fn system_words() -> String {
    SystemProxy::now().words()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_url_is_scheme_host_and_port_and_never_shows_the_password() {
        let proxy = ProxySettings::parse("socks5://127.0.0.1:1080", Some("alice".into()), Some(Secret::new("hunter2")))
            .expect("a SOCKS5 proxy");
        assert_eq!(proxy.display(), "socks5://127.0.0.1:1080");
        assert!(!format!("{proxy:?}").contains("hunter2"), "Debug redacts the password: {proxy:?}");
        assert!(ProxySettings::parse("http://u:p@proxy:3128", None, None).is_err(), "no credentials in the URL");
        assert!(ProxySettings::parse("ftp://proxy:21", None, None).is_err(), "only http and socks5");
        assert!(ProxySettings::parse("http://proxy:3128/path", None, None).is_err(), "no path");
        assert!(
            ProxySettings::parse("http://proxy:3128", None, Some(Secret::new("x"))).is_err(),
            "password needs a user"
        );
        assert!(ProxySettings::parse("http://proxy:3128/", None, None).is_ok(), "a trailing slash is fine");
    }
}
