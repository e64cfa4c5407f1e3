use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::json;

use super::*;
use crate::trace::{StepAbout, StepName, TransportErrorKind, WizardEvent};

const LOOKUP: &str = "http://127.0.0.1:4000";
const INSTANCE: &str = "http://127.0.0.1:4002";

#[allow(clippy::too_many_arguments)]
fn exchange(
    round: u32,
    started_ms: f64,
    to: Participant,
    method: &str,
    url: String,
    status: Option<u16>,
    request_headers: &[(&str, &str)],
    response_headers: &[(&str, &str)],
) -> Exchange {
    let pairs = |h: &[(&str, &str)]| h.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
    Exchange {
        seq: 0,
        round,
        from: Participant::Client,
        to,
        method: method.into(),
        url,
        status,
        error: status.is_none().then(|| "connection refused".to_owned()),
        error_kind: status.is_none().then_some(TransportErrorKind::ConnectionRefused),
        started_ms,
        duration_ms: 2.5,
        request_headers: pairs(request_headers),
        response_headers: pairs(response_headers),
        credentials: false,
    }
}

/// The ownCloud redirect as the CLI runs it (credentials up front): 3 rounds, 6 exchanges.
fn s0() -> Vec<Exchange> {
    let basic = [("Authorization", "Basic [redacted]"), ("Depth", "0")];
    let ocs = [("Authorization", "Basic [redacted]"), ("OCS-APIRequest", "true")];
    vec![
        exchange(1, 0.0, Participant::Lookup, "GET", format!("{LOOKUP}/status.php"), Some(200), &[], &[]),
        exchange(
            1,
            0.2,
            Participant::Lookup,
            "PROPFIND",
            format!("{LOOKUP}/remote.php/webdav/"),
            Some(301),
            &basic,
            &[("Location", &format!("{INSTANCE}/remote.php/webdav/"))],
        ),
        exchange(
            2,
            5.0,
            Participant::Instance,
            "PROPFIND",
            format!("{INSTANCE}/remote.php/webdav/"),
            Some(207),
            &basic,
            &[("Content-Type", "application/xml; charset=utf-8"), ("Content-Length", "512")],
        ),
        exchange(
            3,
            9.0,
            Participant::Instance,
            "GET",
            format!("{INSTANCE}/ocs/v2.php/cloud/capabilities?format=json"),
            Some(200),
            &ocs,
            &[],
        ),
        exchange(
            3,
            9.1,
            Participant::Instance,
            "GET",
            format!("{INSTANCE}/ocs/v2.php/cloud/user?format=json"),
            Some(200),
            &ocs,
            &[],
        ),
        exchange(
            3,
            9.2,
            Participant::Instance,
            "GET",
            format!("{INSTANCE}/remote.php/dav/avatars/test@instance2.com/128.png"),
            Some(404),
            &ocs,
            &[],
        ),
    ]
}

/// Secrets that slipped past the trace's own redaction, in every place an export shows.
fn leaky() -> Vec<Exchange> {
    let mut leaky = vec![
        exchange(
            1,
            0.0,
            Participant::Idp,
            "GET",
            format!("{LOOKUP}/authorize?client_id=homeport&state=STATE-1&nonce=NONCE-1&code_challenge=abc"),
            Some(302),
            &[("Cookie", "session=COOKIE-1"), ("Authorization", "Bearer ACCESS-1")],
            &[("Location", "http://127.0.0.1:5000/callback?code=CODE-1&state=STATE-1"), ("Set-Cookie", "s=COOKIE-2")],
        ),
        exchange(
            2,
            3.0,
            Participant::Lookup,
            "GET",
            format!("{LOOKUP}/_matrix/client/v3/login?loginToken=LOGIN-1&access_token=ACCESS-2"),
            None,
            &[("X-Auth-Token", "TOKEN-1")],
            &[],
        ),
        exchange(
            3,
            6.0,
            Participant::Instance,
            "POST",
            format!("{INSTANCE}/token?refresh_token=REFRESH-1&client_secret=CLIENT-1&code_verifier=VERIFIER-1&password=PASSWORD-1&token=TOKEN-2#id_token=ID-1"),
            Some(200),
            &[],
            &[],
        ),
    ];
    leaky[1].error = Some("refused at http://127.0.0.1:5000/cb?code=CODE-2".into());
    leaky
}

const SECRETS: [&str; 16] = [
    "STATE-1",
    "NONCE-1",
    "COOKIE-1",
    "COOKIE-2",
    "ACCESS-1",
    "ACCESS-2",
    "CODE-1",
    "CODE-2",
    "LOGIN-1",
    "TOKEN-1",
    "TOKEN-2",
    "REFRESH-1",
    "CLIENT-1",
    "VERIFIER-1",
    "PASSWORD-1",
    "ID-1",
];

fn meta() -> TraceMeta<'static> {
    TraceMeta {
        address: "http://alice:hunter2@127.0.0.1:4000/",
        started: UNIX_EPOCH + Duration::from_millis(1_795_435_384_123),
        creator_version: "0.1.0",
    }
}

#[test]
fn no_secret_reaches_any_format() {
    for format in [TraceFormat::Har, TraceFormat::Mermaid, TraceFormat::PlantUml] {
        let text = render(format, &leaky(), &meta());
        for secret in SECRETS {
            assert!(!text.contains(secret), "{format:?} shows {secret}:\n{text}");
        }
        assert!(!text.contains("hunter2"), "{format:?} shows the address's password");
        for name in ["state=[redacted]", "loginToken=[redacted]", "refresh_token=[redacted]", "code=[redacted]"] {
            assert!(text.contains(name), "{format:?} keeps the name {name}, so the reader sees what was sent:\n{text}");
        }
    }
    let har = to_har(&leaky(), &meta());
    let first = &har["log"]["entries"][0];
    let headers = &first["request"]["headers"];
    assert_eq!(headers[1]["value"], "Bearer [redacted]", "the scheme stays readable: {headers}");
    let query = &first["request"]["queryString"];
    assert_eq!(query[1], json!({"name": "state", "value": "[redacted]"}), "queryString too: {query}");
    assert_eq!(query[3], json!({"name": "code_challenge", "value": "abc"}), "a hash is no secret");
}

#[test]
fn har_has_the_fields_devtools_need() {
    let har = to_har(&s0(), &meta());
    let log = &har["log"];
    assert_eq!(log["version"], "1.2");
    assert_eq!(log["creator"], json!({"name": "Homeport", "version": "0.1.0"}));
    assert_eq!(log["pages"][0]["title"], "homeport connect http://alice@127.0.0.1:4000/");
    let entries = log["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 6, "one entry per exchange");
    let probe = &entries[1];
    assert_eq!(log["pages"][0]["startedDateTime"], "2026-11-23T12:03:04.123Z", "the wizard's start, in UTC");
    assert_eq!(entries[2]["startedDateTime"], "2026-11-23T12:03:04.128Z", "the wizard's start + 5 ms");
    assert_eq!(probe["time"], 2.5);
    assert_eq!(probe["timings"]["wait"], 2.5, "send + wait + receive = time");
    assert_eq!(probe["request"]["method"], "PROPFIND");
    assert_eq!(probe["request"]["url"], format!("{LOOKUP}/remote.php/webdav/"));
    assert_eq!(probe["request"]["headers"][0], json!({"name": "Authorization", "value": "Basic [redacted]"}));
    assert_eq!(probe["response"]["status"], 301);
    assert_eq!(probe["response"]["statusText"], "Moved Permanently");
    assert_eq!(probe["response"]["redirectURL"], format!("{INSTANCE}/remote.php/webdav/"));
    let verify = &entries[2]["response"];
    assert_eq!(verify["content"], json!({"size": 512, "mimeType": "application/xml; charset=utf-8"}));
    assert_eq!(entries[3]["request"]["queryString"], json!([{"name": "format", "value": "json"}]));
    for entry in entries {
        for field in ["pageref", "startedDateTime", "time", "request", "response", "cache", "timings"] {
            assert!(!entry[field].is_null(), "entry.{field} is required: {entry}");
        }
        for field in ["method", "url", "httpVersion", "headers", "queryString", "cookies", "headersSize", "bodySize"] {
            assert!(!entry["request"][field].is_null(), "request.{field} is required: {entry}");
        }
        for field in [
            "status",
            "statusText",
            "httpVersion",
            "headers",
            "cookies",
            "content",
            "redirectURL",
            "headersSize",
            "bodySize",
        ] {
            assert!(!entry["response"][field].is_null(), "response.{field} is required: {entry}");
        }
    }
    let failed = to_har(&leaky(), &meta());
    let failed = &failed["log"]["entries"][1]["response"];
    assert_eq!((failed["status"].as_u64(), failed["_error"].is_string()), (Some(0), true), "{failed}");
}

#[test]
fn mermaid_draws_seed_000_with_the_probe_in_parallel() {
    let mermaid = to_mermaid(&s0());
    let expected = "\
sequenceDiagram
    participant Client
    participant Lookup as Lookup server
    participant Instance
    Note over Client,Instance: round 1
    par
        Client->>Lookup: GET /status.php
        Lookup-->>Client: 200 OK (3 ms)
    and
        Client->>Lookup: PROPFIND /remote.php/webdav/
        Lookup-->>Client: 301 Moved Permanently → http://127.0.0.1:4002 (3 ms)
    end
    Note over Client,Instance: round 2
    Client->>Instance: PROPFIND /remote.php/webdav/
    Instance-->>Client: 207 Multi-Status (3 ms)
    Note over Client,Instance: round 3
    par
        Client->>Instance: GET /ocs/v2.php/cloud/capabilities?format=json
        Instance-->>Client: 200 OK (3 ms)
    and
        Client->>Instance: GET /ocs/v2.php/cloud/user?format=json
        Instance-->>Client: 200 OK (3 ms)
    and
        Client->>Instance: GET /remote.php/dav/avatars/test@instance2.com/128.png
        Instance-->>Client: 404 Not Found (3 ms)
    end
";
    assert_eq!(mermaid, expected, "lanes used, par per concurrent round, the redirect's target");
    let failed = to_mermaid(&leaky());
    assert!(failed.contains("    participant IdP\n"), "the IdP lane when used: {failed}");
    assert!(failed.contains("Lookup--xClient: refused at"), "a failure is a crossed answer: {failed}");
}

#[test]
fn plantuml_matches_the_uis_export_with_par_groups() {
    let plantuml = to_plantuml(&s0());
    let expected = "\
@startuml
participant \"Client\" as Client
participant \"Lookup server\" as Lookup
participant \"Instance\" as Instance
== round 1 ==
par
  Client -> Lookup: GET /status.php
  Lookup --> Client: 200 OK (3 ms)
else
  Client -> Lookup: PROPFIND /remote.php/webdav/
  Lookup --> Client: 301 Moved Permanently → http://127.0.0.1:4002 (3 ms)
end
== round 2 ==
Client -> Instance: PROPFIND /remote.php/webdav/
Instance --> Client: 207 Multi-Status (3 ms)
== round 3 ==
par
  Client -> Instance: GET /ocs/v2.php/cloud/capabilities?format=json
  Instance --> Client: 200 OK (3 ms)
else
  Client -> Instance: GET /ocs/v2.php/cloud/user?format=json
  Instance --> Client: 200 OK (3 ms)
else
  Client -> Instance: GET /remote.php/dav/avatars/test@instance2.com/128.png
  Instance --> Client: 404 Not Found (3 ms)
end
@enduml
";
    assert_eq!(plantuml, expected, "the UI's lanes and aliases, rounds as dividers");
    assert!(to_plantuml(&leaky()).contains("Lookup -->x Client: refused at"), "a failure is a lost answer");
}

#[test]
fn same_origin_redirects_show_the_path_and_text_is_escaped() {
    let mut hop = s0().remove(1);
    hop.response_headers = vec![("Location".into(), "/login;jsessionid=1#top".into())];
    assert_eq!(response_label(&hop), "301 Moved Permanently → /login;jsessionid=1#top (3 ms)");
    assert!(to_mermaid(&[hop]).contains("→ /login#59;jsessionid=1#35;top"), "; and # are entities in Mermaid");
}

#[test]
fn format_from_extension_and_name() {
    assert_eq!(TraceFormat::for_path(Path::new("bug.har")), TraceFormat::Har);
    assert_eq!(TraceFormat::for_path(Path::new("bug.MMD")), TraceFormat::Mermaid);
    assert_eq!(TraceFormat::for_path(Path::new("bug.puml")), TraceFormat::PlantUml);
    assert_eq!(TraceFormat::for_path(Path::new("bug.txt")), TraceFormat::Har, "HAR unless the name says");
    assert_eq!("plantuml".parse::<TraceFormat>(), Ok(TraceFormat::PlantUml));
    assert!("svg".parse::<TraceFormat>().is_err());
}

/// The export prints `detail` (the English words); `about` is what the desktop translates.
fn step(step: StepName, detail: &str) -> WizardEvent {
    WizardEvent::Step { step, detail: detail.into(), about: StepAbout::Checking { server: detail.into() } }
}

/// What the desktop's "Copy as text" renders (it was `toPlantUml` in the UI's diagram.ts; its
/// Vitest checks are here): the participants, a note per step, round dividers, the status with
/// its timing, and where a redirect points (its `Location`).
#[test]
fn plantuml_of_the_events_notes_each_step_between_the_rounds() {
    let mut redirect = s0().remove(1);
    redirect.duration_ms = 12.4;
    let mut events = vec![step(StepName::Authenticate, "logging in as test@instance2.com")];
    events.push(WizardEvent::Exchange(redirect));
    events.push(step(StepName::Verify, "PROPFIND where the account lives"));
    // The fixture's exchanges after its first round (status.php and the redirect, drawn above).
    events.extend(s0().into_iter().skip(2).map(WizardEvent::Exchange));
    let plantuml = to_plantuml_events(&events);
    let expected = "\
@startuml
participant \"Client\" as Client
participant \"Lookup server\" as Lookup
participant \"Instance\" as Instance
note over Client: Logging in: logging in as test@instance2.com
== round 1 ==
Client -> Lookup: PROPFIND /remote.php/webdav/
Lookup --> Client: 301 Moved Permanently → http://127.0.0.1:4002 (12 ms)
note over Client: Verifying the account: PROPFIND where the account lives
== round 2 ==
Client -> Instance: PROPFIND /remote.php/webdav/
Instance --> Client: 207 Multi-Status (3 ms)
== round 3 ==
par
  Client -> Instance: GET /ocs/v2.php/cloud/capabilities?format=json
  Instance --> Client: 200 OK (3 ms)
else
  Client -> Instance: GET /ocs/v2.php/cloud/user?format=json
  Instance --> Client: 200 OK (3 ms)
else
  Client -> Instance: GET /remote.php/dav/avatars/test@instance2.com/128.png
  Instance --> Client: 404 Not Found (3 ms)
end
@enduml
";
    assert_eq!(plantuml, expected, "steps as notes where they started, the exchanges as --trace draws them");
    let exchanges: Vec<WizardEvent> = s0().into_iter().map(WizardEvent::Exchange).collect();
    assert_eq!(to_plantuml_events(&exchanges), to_plantuml(&s0()), "without steps: the CLI's file");
}

#[test]
fn plantuml_of_the_events_shows_where_a_redirect_points_and_the_full_request_line() {
    let mut hop = s0().remove(1);
    hop.response_headers = vec![("Location".into(), "/login;jsessionid=1#top".into())];
    let mut long = s0().remove(0);
    long.round = 2;
    long.started_ms = 1.0;
    long.url = format!("{LOOKUP}/.well-known/webfinger?resource={}", "a".repeat(80));
    let plantuml = to_plantuml_events(&[WizardEvent::Exchange(hop), WizardEvent::Exchange(long)]);
    assert!(
        plantuml.contains("Lookup --> Client: 301 Moved Permanently → /login;jsessionid=1#top (3 ms)\n"),
        "{plantuml}"
    );
    assert!(plantuml.contains(&format!("resource={}\n", "a".repeat(80))), "not fitted as drawn: {plantuml}");
}

#[test]
fn plantuml_of_the_events_redacts_what_the_webview_hands_back() {
    let mut events = vec![step(StepName::Probe, "checking http://127.0.0.1/?code=CODE-1")];
    events.extend(leaky().into_iter().map(WizardEvent::Exchange));
    let plantuml = to_plantuml_events(&events);
    for secret in SECRETS {
        assert!(!plantuml.contains(secret), "shows {secret}:\n{plantuml}");
    }
    assert!(plantuml.contains("participant \"IdP\" as IdP\n"), "the lanes in use: {plantuml}");
    assert!(
        plantuml.contains("note over Client: Checking the server: checking http://127.0.0.1/?code=[redacted]\n"),
        "{plantuml}"
    );
    let multiline = to_plantuml_events(&[step(StepName::Discover, "one\ntwo \\n")]);
    assert!(multiline.contains("note over Client: Finding the account's server: one two \\\\n\n"), "{multiline}");
}
