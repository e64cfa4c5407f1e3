//! The one redirect policy. Every HTTP client Homeport builds has automatic redirects off; every
//! 3xx answer of every protocol passes [`RedirectPolicy::decide`], which says follow, ask or refuse.

use std::collections::HashSet;

use reqwest::Method;
use serde::Serialize;
use url::Url;

use crate::address::{is_loopback, Origin};

/// The statuses that redirect. 300 and 304 are not redirects a client follows on its own.
pub fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// Only these tell a client to remember the new location (RFC 9110 §15.4).
pub fn is_permanent(status: u16) -> bool {
    matches!(status, 301 | 308)
}

#[derive(Clone, Debug)]
pub struct RedirectPolicy {
    pub max_hops: usize,
    /// Origins the person allowed plain http to for this connection, each one asked for
    /// (docs/security.md): consent to one plain-http host is no consent to another.
    pub plain_http_origins: HashSet<Origin>,
}

impl Default for RedirectPolicy {
    fn default() -> Self {
        RedirectPolicy { max_hops: 10, plain_http_origins: HashSet::new() }
    }
}

/// One followed (or proposed) redirect.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Hop {
    pub from: Url,
    pub to: Url,
    pub status: u16,
    /// The method the next request uses (kept on 307/308; GET after 303).
    #[serde(serialize_with = "serialize_method")]
    pub method: Method,
    /// 307/308 re-send the request body.
    pub keeps_body: bool,
    pub permanent: bool,
    pub cross_origin: bool,
    /// Whether credentials go along to `to`.
    pub credentials: bool,
}

fn serialize_method<S: serde::Serializer>(method: &Method, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(method.as_str())
}

/// The redirects followed so far for one logical request.
#[derive(Clone, Debug, Default)]
pub struct RedirectChain {
    visited: Vec<(Method, Url)>,
    pub hops: Vec<Hop>,
}

impl RedirectChain {
    pub fn starting_at(method: &Method, url: &Url) -> Self {
        RedirectChain { visited: vec![(method.clone(), url.clone())], hops: Vec::new() }
    }

    pub fn push(&mut self, hop: Hop) {
        self.visited.push((hop.method.clone(), hop.to.clone()));
        self.hops.push(hop);
    }

    /// Permanent only if every hop was: one temporary hop means "ask the first server again next time".
    pub fn is_permanent(&self) -> bool {
        !self.hops.is_empty() && self.hops.iter().all(|hop| hop.permanent)
    }
}

/// A 3xx answer to a request, as the policy sees it.
#[derive(Clone, Copy, Debug)]
pub struct RedirectAnswer<'a> {
    pub method: &'a Method,
    pub from: &'a Url,
    pub status: u16,
    pub location: Option<&'a str>,
    /// Whether the request that got this answer carried credentials.
    pub carries_credentials: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    Follow(Hop),
    /// Credentials would go to an origin nobody approved: a person (or script) must decide.
    Ask(Hop),
    Refuse(RedirectRefusal),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RedirectRefusal {
    #[error("{from} answered {status} without a Location header")]
    MissingLocation { from: String, status: u16 },
    #[error("{from} redirected to an invalid location {location:?}")]
    InvalidLocation { from: String, location: String },
    #[error("{from} redirected to {to}, which is not an http(s) URL")]
    UnsupportedScheme { from: String, to: String },
    #[error("more than {max} redirects, stopped at {at}")]
    TooManyHops { max: usize, at: String },
    #[error("redirect loop: {to} was already visited")]
    Loop { to: String },
    #[error("{from} redirected from https to plain http ({to}); Homeport never downgrades a connection")]
    Downgrade { from: String, to: String },
    #[error(
        "{to} uses plain http; only loopback servers may, unless plain http to it was allowed for this connection"
    )]
    PlainHttp { to: String },
    #[error("sending credentials to {to} was not approved")]
    NotApproved { to: Origin },
}

impl RedirectPolicy {
    /// The plain-http rule, for every URL a request may go to (a redirect's target, a discovered
    /// homeserver or instance, an identity provider's endpoint): https, or plain http to this
    /// machine, or plain http to an origin the person allowed for this connection.
    pub fn permits_scheme(&self, url: &Url) -> bool {
        url.scheme() != "http" || is_loopback(url) || self.plain_http_origins.contains(&Origin::of(url))
    }

    /// Decides what to do with a redirect answer.
    pub fn decide(&self, answer: &RedirectAnswer<'_>, chain: &RedirectChain, approved: &HashSet<Origin>) -> Verdict {
        let RedirectAnswer { method, from, status, location, carries_credentials } = *answer;
        let refuse = Verdict::Refuse;
        let Some(location) = location.map(str::trim).filter(|l| !l.is_empty()) else {
            return refuse(RedirectRefusal::MissingLocation { from: from.to_string(), status });
        };
        let Ok(mut to) = from.join(location) else {
            return refuse(RedirectRefusal::InvalidLocation { from: from.to_string(), location: location.to_owned() });
        };
        if to.scheme() != "https" && to.scheme() != "http" {
            return refuse(RedirectRefusal::UnsupportedScheme { from: from.to_string(), to: to.to_string() });
        }
        // Credentials come from the person, never from a Location header.
        let _ = to.set_username("");
        let _ = to.set_password(None);
        to.set_fragment(None);
        if chain.hops.len() >= self.max_hops {
            return refuse(RedirectRefusal::TooManyHops { max: self.max_hops, at: to.to_string() });
        }
        if from.scheme() == "https" && to.scheme() == "http" {
            return refuse(RedirectRefusal::Downgrade { from: from.to_string(), to: to.to_string() });
        }
        if !self.permits_scheme(&to) {
            return refuse(RedirectRefusal::PlainHttp { to: to.to_string() });
        }
        let (next_method, keeps_body) = match status {
            307 | 308 => (method.clone(), true),
            303 if *method != Method::HEAD => (Method::GET, false),
            // Historic user-agent behaviour (RFC 9110 §15.4.2/3): POST becomes GET on 301/302;
            // WebDAV methods such as PROPFIND are kept, as ownCloud clients do.
            301 | 302 if *method == Method::POST => (Method::GET, false),
            _ => (method.clone(), false),
        };
        if chain.visited.iter().any(|(m, u)| *m == next_method && *u == to) {
            return refuse(RedirectRefusal::Loop { to: to.to_string() });
        }
        let cross_origin = Origin::of(from) != Origin::of(&to);
        let hop = Hop {
            from: from.clone(),
            to: to.clone(),
            status,
            method: next_method,
            keeps_body,
            permanent: is_permanent(status),
            cross_origin,
            credentials: carries_credentials,
        };
        if carries_credentials && cross_origin && !approved.contains(&Origin::of(&to)) {
            return Verdict::Ask(hop);
        }
        Verdict::Follow(hop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL")
    }

    fn propfind() -> Method {
        Method::from_bytes(b"PROPFIND").expect("method")
    }

    fn decide(status: u16, from: &str, location: &str, creds: bool, approved: &[&str]) -> Verdict {
        let from = url(from);
        let approved = approved.iter().map(|o| Origin::parse(o).expect("origin")).collect();
        let chain = RedirectChain::starting_at(&propfind(), &from);
        RedirectPolicy::default().decide(
            &RedirectAnswer {
                method: &propfind(),
                from: &from,
                status,
                location: Some(location),
                carries_credentials: creds,
            },
            &chain,
            &approved,
        )
    }

    #[test]
    fn same_origin_redirects_are_followed_with_credentials() {
        let verdict = decide(301, "https://a.example/remote.php/webdav/", "/i3/remote.php/webdav/", true, &[]);
        let Verdict::Follow(hop) = verdict else { panic!("same origin must be followed: {verdict:?}") };
        assert_eq!(hop.to.as_str(), "https://a.example/i3/remote.php/webdav/");
        assert!(hop.permanent && hop.credentials && !hop.cross_origin);
        assert_eq!(hop.method, propfind(), "PROPFIND is kept on 301");
    }

    #[test]
    fn credentials_to_another_origin_need_approval() {
        let from = "https://a.example/remote.php/webdav/";
        let to = "https://b.example/remote.php/webdav/";
        assert!(matches!(decide(302, from, to, true, &[]), Verdict::Ask(_)), "unapproved origin must be asked");
        assert!(matches!(decide(302, from, to, true, &["https://b.example"]), Verdict::Follow(_)));
        assert!(matches!(decide(302, from, to, false, &[]), Verdict::Follow(_)), "no credentials, nothing to ask");
    }

    #[test]
    fn methods_and_permanence_follow_the_status() {
        for (status, permanent, keeps_body) in
            [(301, true, false), (302, false, false), (307, false, true), (308, true, true)]
        {
            let Verdict::Follow(hop) = decide(status, "https://a.example/x", "/y", true, &[]) else {
                panic!("{status} should be followed")
            };
            assert_eq!(hop.method, propfind(), "{status} keeps PROPFIND");
            assert_eq!((hop.permanent, hop.keeps_body), (permanent, keeps_body), "status {status}");
        }
        let Verdict::Follow(hop) = decide(303, "https://a.example/x", "/y", false, &[]) else { panic!("303") };
        assert_eq!(hop.method, Method::GET, "303 means: GET the other resource");
        let from = url("https://a.example/login");
        let chain = RedirectChain::starting_at(&Method::POST, &from);
        let verdict = RedirectPolicy::default().decide(
            &RedirectAnswer {
                method: &Method::POST,
                from: &from,
                status: 301,
                location: Some("/l2"),
                carries_credentials: false,
            },
            &chain,
            &HashSet::new(),
        );
        assert!(
            matches!(verdict, Verdict::Follow(Hop { ref method, .. }) if *method == Method::GET),
            "POST→GET on 301"
        );
        let verdict = RedirectPolicy::default().decide(
            &RedirectAnswer {
                method: &Method::POST,
                from: &from,
                status: 307,
                location: Some("/l2"),
                carries_credentials: false,
            },
            &chain,
            &HashSet::new(),
        );
        assert!(
            matches!(verdict, Verdict::Follow(Hop { ref method, keeps_body: true, .. }) if *method == Method::POST)
        );
    }

    #[test]
    fn downgrades_plain_http_and_bad_locations_are_refused() {
        let refused = |v: Verdict| matches!(v, Verdict::Refuse(_));
        assert!(
            matches!(
                decide(301, "https://a.example/", "http://a.example/", false, &["http://a.example"]),
                Verdict::Refuse(RedirectRefusal::Downgrade { .. })
            ),
            "never https→http, approved or not"
        );
        assert!(
            matches!(
                decide(301, "http://127.0.0.1:1/", "http://example.com/", false, &[]),
                Verdict::Refuse(RedirectRefusal::PlainHttp { .. })
            ),
            "plain http only for loopback"
        );
        assert!(!refused(decide(301, "http://127.0.0.1:1/", "http://localhost:2/", false, &[])));
        assert!(matches!(
            decide(301, "https://a.example/", "ftp://a.example/", false, &[]),
            Verdict::Refuse(RedirectRefusal::UnsupportedScheme { .. })
        ));
        assert!(matches!(
            decide(301, "https://a.example/", "  ", false, &[]),
            Verdict::Refuse(RedirectRefusal::MissingLocation { .. })
        ));
        assert!(matches!(
            decide(301, "https://a.example/", "https://[::1", false, &[]),
            Verdict::Refuse(RedirectRefusal::InvalidLocation { .. })
        ));
    }

    #[test]
    fn plain_http_is_allowed_per_origin() {
        let mut policy = RedirectPolicy::default();
        policy.plain_http_origins.insert(Origin::parse("http://a.example:8080").expect("origin"));
        assert!(policy.permits_scheme(&url("http://a.example:8080/remote.php/webdav/")), "the allowed origin");
        for other in
            ["http://b.example:8080/", "http://a.example/", "http://a.example:9090/", "http://sub.a.example:8080/"]
        {
            assert!(!policy.permits_scheme(&url(other)), "{other}: another origin is asked again");
        }
        assert!(
            policy.permits_scheme(&url("https://b.example/")) && policy.permits_scheme(&url("http://127.0.0.1:9/"))
        );
        let from = url("http://a.example:8080/");
        let answer = RedirectAnswer {
            method: &Method::GET,
            from: &from,
            status: 302,
            location: Some("http://b.example:8080/"),
            carries_credentials: false,
        };
        let chain = RedirectChain::starting_at(&Method::GET, &from);
        assert!(
            matches!(
                policy.decide(&answer, &chain, &HashSet::new()),
                Verdict::Refuse(RedirectRefusal::PlainHttp { .. })
            ),
            "a redirect to a second plain-http origin is not followed"
        );
    }

    #[test]
    fn userinfo_in_a_location_is_dropped() {
        let Verdict::Follow(hop) = decide(302, "https://a.example/", "https://evil:pw@a.example/x", false, &[]) else {
            panic!("same origin")
        };
        assert_eq!(hop.to.as_str(), "https://a.example/x", "credentials never come from a Location");
    }

    #[test]
    fn loops_and_long_chains_stop() {
        let policy = RedirectPolicy { max_hops: 3, ..RedirectPolicy::default() };
        let start = url("https://a.example/1");
        let mut chain = RedirectChain::starting_at(&propfind(), &start);
        let none = HashSet::new();
        let mut at = start.clone();
        for next in ["/2", "/3", "/4"] {
            let Verdict::Follow(hop) = policy.decide(
                &RedirectAnswer {
                    method: &propfind(),
                    from: &at,
                    status: 302,
                    location: Some(next),
                    carries_credentials: true,
                },
                &chain,
                &none,
            ) else {
                panic!("hop to {next} should be followed")
            };
            at = hop.to.clone();
            chain.push(hop);
        }
        assert!(matches!(
            policy.decide(
                &RedirectAnswer {
                    method: &propfind(),
                    from: &at,
                    status: 302,
                    location: Some("/5"),
                    carries_credentials: true
                },
                &chain,
                &none
            ),
            Verdict::Refuse(RedirectRefusal::TooManyHops { max: 3, .. })
        ));
        let chain = RedirectChain::starting_at(&propfind(), &start);
        let verdict = policy.decide(
            &RedirectAnswer {
                method: &propfind(),
                from: &url("https://a.example/2"),
                status: 302,
                location: Some("/1"),
                carries_credentials: true,
            },
            &chain,
            &none,
        );
        assert!(matches!(verdict, Verdict::Refuse(RedirectRefusal::Loop { .. })), "back to the start is a loop");
        assert!(!chain.is_permanent(), "no hops, nothing to remember");
    }
}
