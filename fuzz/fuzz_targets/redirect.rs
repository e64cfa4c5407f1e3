//! A `Location` header and the redirect verdict (`RedirectPolicy::decide`). The first five bytes
//! choose the request (origin, status, method, credentials, approved and plain-http origins, hops
//! so far); the rest is the `Location` value. Promise: no panic; a followed or asked-for hop is
//! http(s), carries no userinfo or fragment, never goes from https to http, is plain http only to
//! this machine or an allowed origin, and credentials follow only to an approved origin.
#![no_main]

use std::collections::HashSet;

use homeport_engine::redirect::{Hop, RedirectAnswer, RedirectChain, RedirectPolicy, Verdict};
use homeport_engine::Origin;
use libfuzzer_sys::fuzz_target;
use reqwest::Method;
use url::{Host, Url};

const FROM: [&str; 6] = [
    "https://cloud.example/remote.php/webdav/",
    "http://127.0.0.1:8080/status.php",
    "http://plain.example/owncloud/",
    "https://localhost./a/b?c=d",
    "http://[::1]:9/",
    "https://alice:secret@cloud.example:8443/x#frag",
];
const STATUS: [u16; 8] = [301, 302, 303, 307, 308, 300, 304, 399];
const ORIGINS: [&str; 4] =
    ["https://other.example", "http://plain.example", "https://cloud.example", "http://localhost"];

/// This machine, by the spec (RFC 6761, RFC 1122), not by the engine's own helper.
fn loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.octets()[0] == 127,
        Some(Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.');
            name == "localhost" || name.ends_with(".localhost")
        }
        None => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let [a, b, c, d, e, rest @ ..] = data else { return };
    let Ok(location) = std::str::from_utf8(rest) else { return };
    let from = Url::parse(FROM[*a as usize % FROM.len()]).expect("from");
    let status = STATUS[*b as usize % STATUS.len()];
    let method = match c & 3 {
        0 => Method::GET,
        1 => Method::POST,
        2 => Method::HEAD,
        _ => Method::from_bytes(b"PROPFIND").expect("method"),
    };
    let credentials = c & 4 != 0;
    let no_location = c & 8 != 0;
    let pick = |mask: u8| -> HashSet<Origin> {
        ORIGINS
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, o)| Origin::parse(o).expect("o"))
            .collect()
    };
    let approved = pick(*d & 15);
    let plain_http = pick(*d >> 4);
    let policy = RedirectPolicy { plain_http_origins: plain_http.clone(), ..RedirectPolicy::default() };
    let hops = (*e % 12) as usize;
    let mut chain = RedirectChain::starting_at(&method, &from);
    for n in 0..hops {
        let to = from.join(&format!("/hop{n}/")).expect("hop");
        let hop = Hop {
            from: from.clone(),
            to,
            status: 302,
            method: method.clone(),
            keeps_body: false,
            permanent: false,
            cross_origin: false,
            credentials,
        };
        chain.push(hop);
    }
    let answer = RedirectAnswer {
        method: &method,
        from: &from,
        status,
        location: (!no_location).then_some(location),
        carries_credentials: credentials,
    };
    let verdict = policy.decide(&answer, &chain, &approved);
    let hop = match &verdict {
        Verdict::Follow(hop) | Verdict::Ask(hop) => hop,
        Verdict::Refuse(refusal) => {
            assert!(!refusal.to_string().is_empty());
            return;
        }
    };
    let to = &hop.to;
    assert!(!no_location, "followed a redirect without a Location: {verdict:?}");
    assert!(hops < policy.max_hops, "{location:?}: followed past the hop limit");
    assert!(matches!(to.scheme(), "http" | "https"), "{location:?} → {to}");
    assert!(to.username().is_empty() && to.password().is_none(), "{location:?} → {to}: userinfo from Location kept");
    assert!(to.fragment().is_none(), "{location:?} → {to}: fragment kept");
    assert!(!(from.scheme() == "https" && to.scheme() == "http"), "{location:?} → {to}: https downgraded to http");
    assert!(
        to.scheme() == "https" || loopback(to) || plain_http.contains(&Origin::of(to)),
        "{location:?} → {to}: plain http to an origin nobody allowed"
    );
    assert_eq!(hop.cross_origin, Origin::of(&from) != Origin::of(to), "{location:?} → {to}");
    if let Verdict::Follow(hop) = &verdict {
        assert!(
            !(credentials && hop.cross_origin) || approved.contains(&Origin::of(to)),
            "{location:?} → {to}: credentials followed to an unapproved origin"
        );
    }
});
