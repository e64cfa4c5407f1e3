//! Hostile servers after secrets (issue 16's "Secret hygiene"): a server that quotes a token back
//! in an error body gets it into no message, report or trace; a server offering both a password
//! form and a browser login gets no password.

use super::*;

const ISSUER_REL: &str = "http://openid.net/specs/connect/1.0/issuer";
const INSTANCE_REL: &str = "http://webfinger.owncloud/rel/server-instance";

fn rel_of(seen: &Seen) -> Option<String> {
    let url = Url::parse(&format!("http://x{}", seen.target)).ok()?;
    url.query_pairs().find(|(k, _)| k == "rel").map(|(_, v)| v.into_owned())
}

/// What an echoing server sends back for a request with `bearer`: the token it received, a
/// refresh token, an app password and a Nextcloud login token, as a broken JSON body
/// (the error quotes it as "the body starts with") or an error page.
fn echo_bodies(bearer: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "broken JSON with token fields",
            format!(
                r#"{{"access_token":"{bearer}","refresh_token":"rt-9f8e7d6c5b4a3f2e1d0c","appPassword":"AbCdEf123456","loginToken":"lt-77aa88bb99cc","links":"#
            ),
        ),
        (
            "an error page quoting the header",
            format!("<html><body>Bad request: Authorization: Bearer {bearer}</body></html>"),
        ),
    ]
}

#[tokio::test]
async fn a_server_quoting_a_token_in_its_error_body_gets_it_into_no_message() {
    let idp = lookup(Scenario::default()).await;
    for (case, status) in
        [("broken JSON with token fields", "200 OK"), ("an error page quoting the header", "500 Internal Server Error")]
    {
        let issuer = idp.idp_issuer();
        let server = Scripted::start(move |s: &Seen| match (s.method.as_str(), s.path(), rel_of(s).as_deref()) {
            ("GET", "/status.php", _) => {
                json(r#"{"installed":true,"productname":"Infinite Scale","versionstring":"7.0.0"}"#)
            }
            ("PROPFIND", _, _) => http("401 Unauthorized", &[("WWW-Authenticate", "Bearer realm=\"oCIS\"")], ""),
            (_, "/.well-known/webfinger", Some(ISSUER_REL)) => json(
                serde_json::json!({"subject": "x", "links": [{"rel": ISSUER_REL, "href": issuer.as_str()}]})
                    .to_string(),
            ),
            (_, "/.well-known/webfinger", Some(INSTANCE_REL)) => {
                let bearer = s.authorization.clone().unwrap_or_default();
                let bearer = bearer.trim_start_matches("Bearer ").to_owned();
                let body =
                    echo_bodies(&bearer).into_iter().find(|(c, _)| *c == case).map(|(_, b)| b).unwrap_or_default();
                http(status, &[("Content-Type", "application/json")], body)
            }
            _ => not_found(),
        })
        .await;
        let options = WizardOptions { http: loopback(), ..options(&idp) };
        let mut wizard = wizard(case, server.url().as_str(), options, None);
        let (outcome, _) = step(case, &mut wizard).await;
        let Outcome::Asked(Decision::OpenBrowser { url, .. }) = outcome else {
            panic!("{case}: the scripted oCIS leads to the browser, got {outcome:?}")
        };
        let page = Url::parse(&url).expect("the login page is a URL");
        let robot = tokio::spawn(async move { complete_browser_login(&page, "einstein", "relativity").await });
        let (outcome, _) = step(case, &mut wizard).await;
        let _ = tokio::time::timeout(GUARD, robot).await;
        let Outcome::Failed(error) = &outcome else {
            panic!("{case}: a broken WebFinger answer fails, got {outcome:?}")
        };
        let bearer = server
            .seen()
            .iter()
            .find_map(|s| s.authorization.clone().filter(|a| a.starts_with("Bearer ")))
            .map(|a| a.trim_start_matches("Bearer ").to_owned())
            .unwrap_or_else(|| panic!("{case}: the WebFinger request carried the bearer token"));
        let report = serde_json::to_string(&error.report()).expect("the report serializes");
        let shown = format!("{error}\n{report}");
        assert!(
            shown.contains("the body starts with") || shown.contains("HTTP 500"),
            "{case}: the body is still quoted: {shown}"
        );
        for secret in [bearer.as_str(), "rt-9f8e7d6c5b4a3f2e1d0c", "AbCdEf123456", "lt-77aa88bb99cc"] {
            assert!(!quotes_part_of(&shown, secret), "{case}: the error quotes the secret {secret:?}: {shown}");
        }
        let trace = serde_json::to_string(&wizard.trace().exchanges()).expect("the trace serializes");
        assert!(!trace.contains(&bearer), "{case}: the trace holds the bearer token");
    }
    idp.shutdown().await;
}

/// Whether `text` holds any 12 characters of `secret` in a row (a quoted excerpt is cut short).
fn quotes_part_of(text: &str, secret: &str) -> bool {
    let chars: Vec<char> = secret.chars().collect();
    chars.windows(12.min(chars.len())).any(|window| text.contains(&window.iter().collect::<String>()))
}

/// An ownCloud whose 401 offers both a password (Basic) and a browser login (Bearer), as ownCloud
/// 10 with its OpenID Connect app does; its own issuer's discovery document.
fn basic_and_bearer(seen: &Seen) -> Vec<Act> {
    let issuer = format!("http://{}", seen.host);
    match (seen.method.as_str(), seen.path()) {
        ("GET", "/status.php") => json(STATUS_JSON),
        ("PROPFIND", _) => {
            let challenges =
                [("WWW-Authenticate", "Basic realm=\"ownCloud\""), ("WWW-Authenticate", "Bearer realm=\"ownCloud\"")];
            http("401 Unauthorized", &challenges, "")
        }
        (_, "/.well-known/openid-configuration") => json(
            serde_json::json!({
                "issuer": issuer,
                "authorization_endpoint": format!("{issuer}/authorize"),
                "token_endpoint": format!("{issuer}/token"),
                "jwks_uri": format!("{issuer}/jwks"),
                "code_challenge_methods_supported": ["S256"],
            })
            .to_string(),
        ),
        _ => not_found(),
    }
}

#[tokio::test]
async fn a_server_offering_basic_and_bearer_gets_the_browser_login_and_no_password() {
    let case = "Basic and Bearer, no password given";
    let server = Scripted::start(basic_and_bearer).await;
    let mut asked = wizard(case, server.url().as_str(), loopback_options(), None);
    let (outcome, _) = step(case, &mut asked).await;
    assert!(
        matches!(outcome, Outcome::Asked(Decision::OpenBrowser { .. })),
        "{case}: the browser login is chosen, as the ownCloud client does, got {outcome:#?}"
    );
    assert!(server.authorized().is_empty(), "{case}: nothing was sent with credentials: {:?}", server.authorized());

    // A script that gave a password up front: the probe carried it once (one round trip, before
    // the server said what it offers); then the browser login, and the password is sent no more.
    let case = "Basic and Bearer, a password given up front";
    let server = Scripted::start(basic_and_bearer).await;
    let mut asked = wizard(case, server.url().as_str(), loopback_options(), Some(HOSTILE_PASSWORD));
    let (outcome, _) = step(case, &mut asked).await;
    assert!(
        matches!(outcome, Outcome::Asked(Decision::OpenBrowser { .. })),
        "{case}: the browser login is chosen, not a refused password, got {outcome:#?}"
    );
    let basic: Vec<Seen> = server
        .authorized()
        .into_iter()
        .filter(|s| s.authorization.as_deref().is_some_and(|a| a.starts_with("Basic ")))
        .collect();
    assert!(
        basic.len() <= 1,
        "{case}: the password went out again after the server offered a browser login: {basic:?}"
    );
}
