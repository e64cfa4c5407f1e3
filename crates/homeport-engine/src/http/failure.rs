//! Why a request failed, in words a person can act on: the proxy's failures, the rustls error
//! in a cause chain, the innermost cause.

use std::error::Error as _;

use url::Url;

use crate::error::ConnectError;
use crate::proxy::ProxySettings;

pub(super) const ENVIRONMENT_PROXY_AUTH: &str =
    "it asks for a user name and password (HTTP 407); put them in the variable's URL (http://user:password@host:port)";

pub(super) fn environment_proxy_failed(url: &Url, reason: String) -> ConnectError {
    ConnectError::ProxyFailed {
        proxy: "from the environment (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY) or GNOME's proxy settings".into(),
        url: url.to_string(),
        reason,
    }
}

pub(super) fn proxy_refused_credentials(manual: &ProxySettings, url: &Url) -> ConnectError {
    let reason = if manual.user.is_some() {
        "it did not accept the proxy user name or password (HTTP 407)"
    } else {
        "it asks for a user name and password (HTTP 407)"
    };
    ConnectError::ProxyFailed { proxy: manual.display(), url: url.to_string(), reason: reason.into() }
}

pub(super) enum ProxyFailure {
    AuthRequired,
    Other(String),
}

/// What went wrong at the proxy, in words: hyper-util's tunnel and SOCKS errors say "tunnel
/// error: …" and "SOCKS error: …", the innermost cause says the rest ("Connection refused").
pub(super) fn proxy_failure(error: &reqwest::Error) -> ProxyFailure {
    let mut chain = Vec::new();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push(cause.to_string());
        source = cause.source();
    }
    if chain.iter().any(|message| message.contains("proxy authorization required")) {
        return ProxyFailure::AuthRequired;
    }
    let mut root = root_cause(error);
    if root.ends_with("failed to create underlying connection") {
        // hyper-util's SOCKS connector drops the io::Error ("Connection refused") behind this.
        root = format!("{root} (the connection to the proxy failed: is it running at that address?)");
    }
    if root.ends_with("tunnel error: unsuccessful") {
        // hyper-util drops the proxy's status line; these are the causes a person can act on.
        root = format!(
            "{root} (the proxy refused to open a tunnel: wrong proxy credentials, a port it does not allow, or it could not reach the server)"
        );
    }
    let reason = match chain.iter().find(|m| m.to_ascii_lowercase().contains("socks") || m.contains("tunnel error")) {
        Some(step) if !step.contains(&root) && !root.contains(step.as_str()) => format!("{step}: {root}"),
        Some(step) if step.contains(&root) => step.clone(),
        _ => root,
    };
    ProxyFailure::Other(reason)
}

pub(super) fn tls_failure(error: &reqwest::Error) -> Option<String> {
    error.source().and_then(find_tls_error)
}

/// Looks through the cause chain for a rustls error. `io::Error::source()` skips the error it
/// wraps (tokio-rustls wraps rustls' error in one io::Error, hyper in another), so each io::Error
/// is opened explicitly.
pub(super) fn find_tls_error(cause: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
        return Some(tls.to_string());
    }
    if let Some(inner) = cause.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
        if let Some(found) = find_tls_error(inner) {
            return Some(found);
        }
    }
    cause.source().and_then(find_tls_error)
}

/// The innermost cause reads best: "Connection refused (os error 111)".
pub(super) fn root_cause(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message = cause.to_string();
        source = cause.source();
    }
    message
}

/// The rustls error in the cause chain, as [`find_tls_error`] finds it, for matching on.
pub(super) fn rustls_error(error: &reqwest::Error) -> Option<rustls::Error> {
    fn find(cause: &(dyn std::error::Error + 'static)) -> Option<rustls::Error> {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return Some(tls.clone());
        }
        if let Some(found) =
            cause.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()).and_then(|inner| find(inner))
        {
            return Some(found);
        }
        cause.source().and_then(find)
    }
    error.source().and_then(find)
}
