//! The host a request was sent to (`Host` header, or the authority of an HTTP/2 request), for the servers that
//! route by host: the IdP's identity zones and the tenants' approuter.

use std::str::FromStr;

use axum::http::uri::Authority;
use axum::http::{header, HeaderMap, Uri};

/// A request's host name (lowercase, no trailing dot) and port, if it named one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RequestHost {
    pub(crate) name: String,
    pub(crate) port: Option<u16>,
}

impl RequestHost {
    /// From the `Host` header (HTTP/1.1) or else the request target's authority (HTTP/2 `:authority`).
    pub(crate) fn of(headers: &HeaderMap, uri: &Uri) -> Option<RequestHost> {
        let from_header = headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| Authority::from_str(text.trim()).ok());
        let authority = from_header.or_else(|| uri.authority().cloned())?;
        let name = authority.host().trim_end_matches('.').to_ascii_lowercase();
        if name.is_empty() {
            return None;
        }
        Some(RequestHost { name, port: authority.port_u16() })
    }

    /// The single label before `.<domain>` when this host is `<label>.<domain>` on `port`
    /// (`tenant1.auth.localhost:4000` with domain `auth.localhost` → `tenant1`).
    pub(crate) fn label_under(&self, domain: &str, port: u16) -> Option<&str> {
        if self.port != Some(port) {
            return None;
        }
        let label = self.name.strip_suffix(domain)?.strip_suffix('.')?;
        (!label.is_empty() && !label.contains('.')).then_some(label)
    }

    /// `name:port` as a URL authority would show it.
    pub(crate) fn authority(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.name),
            None => self.name.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn host(value: &str) -> Option<RequestHost> {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(value).expect("ASCII header"));
        RequestHost::of(&headers, &Uri::from_static("/"))
    }

    #[test]
    fn hosts_parse_with_their_port() {
        let parsed = host("Tenant1.Auth.Localhost.:4000").expect("a host");
        assert_eq!(parsed, RequestHost { name: "tenant1.auth.localhost".into(), port: Some(4000) }, "normalized");
        assert_eq!(parsed.label_under("auth.localhost", 4000), Some("tenant1"), "the zone label");
        assert_eq!(parsed.label_under("auth.localhost", 4001), None, "another port is another server");
        assert_eq!(parsed.authority(), "tenant1.auth.localhost:4000", "authority");
        let nested = host("a.b.auth.localhost:4000").expect("a host");
        assert_eq!(nested.label_under("auth.localhost", 4000), None, "one label only");
        assert_eq!(host("127.0.0.1").map(|h| h.port), Some(None), "no port");
        assert_eq!(host("[::1]:80").map(|h| h.name), Some("[::1]".to_owned()), "IPv6 keeps its brackets");
        assert!(host("bad host").is_none(), "garbage is no host");
        let from_uri = RequestHost::of(&HeaderMap::new(), &Uri::from_static("http://x.localhost:9/p"));
        assert_eq!(from_uri.map(|h| h.name), Some("x.localhost".to_owned()), "HTTP/2 authority");
    }
}
