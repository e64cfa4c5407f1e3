//! `homeport connect --trace FILE`: HAR, Mermaid and PlantUML files of the run, written on
//! success and on failure (a bug report's attachment), never holding a password or token.

use std::path::Path;

use homeport_engine::AccountStore;
use homeport_lookup::Scenario;
use serde_json::Value;

use crate::{code, homeport, json, lookup, origin};

/// Query parameters whose values are secrets: in a trace file they are always `[redacted]`.
const SECRET_PARAMETERS: [&str; 8] =
    ["code", "state", "nonce", "access_token", "refresh_token", "token", "loginToken", "code_verifier"];

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{} was written: {e}", path.display()))
}

/// No secret value in `text`, and every secret query parameter keeps its name only.
fn assert_no_secrets(text: &str, secrets: &[&str], file: &str) {
    for secret in secrets {
        assert!(!text.contains(secret), "{file} holds the secret {secret:?}:\n{text}");
    }
    for name in SECRET_PARAMETERS {
        for separator in ['?', '&', '#'] {
            let needle = format!("{separator}{name}=");
            for (at, _) in text.match_indices(&needle) {
                let value = &text[at + needle.len()..];
                assert!(
                    value.starts_with("[redacted]"),
                    "{file}: the value of {name} is shown: {}",
                    &value[..40.min(value.len())]
                );
            }
        }
    }
    // The access and ID tokens of the lookup server's IdP are JWTs: base64url JSON begins `eyJ`.
    assert!(!text.contains("eyJ"), "{file} holds a JWT:\n{text}");
}

fn har(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{} is JSON: {e}", path.display()))
}

#[tokio::test]
async fn s0_trace_in_each_format_shows_the_probe_the_redirect_and_the_instance() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let files = tempfile::tempdir().expect("temp");
    let central = server.central_url().to_string();
    let instance2 = origin(&server, "instance2");
    // The format from the extension, and from --trace-format for a name that does not say.
    let runs = [("s0.har", None), ("s0.mmd", None), ("s0.puml", None), ("s0.txt", Some("plantuml"))];
    for (name, format) in runs {
        let path = files.path().join(name);
        let path_arg = path.to_string_lossy().into_owned();
        let mut args = vec![
            "connect",
            &central,
            "--user",
            "test@instance2.com",
            "--password-stdin",
            "--approve-redirect",
            &instance2,
            "--json",
            "--no-store",
            "--trace",
            &path_arg,
        ];
        if let Some(format) = format {
            args.extend(["--trace-format", format]);
        }
        let output = homeport(config.path(), &args, Some("secret")).await;
        assert_eq!(code(&output), 0, "connected: {}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(json(&output)["status"], "connected", "--json's stdout stays exactly one object");
        assert_no_secrets(&read(&path), &["secret"], name);
    }

    let har = har(&files.path().join("s0.har"));
    assert_eq!(har["log"]["version"], "1.2");
    assert_eq!(har["log"]["creator"]["name"], "Homeport");
    let entries = har["log"]["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 8, "every exchange of S0 (WebFinger and Matrix's well-known beside the probe): {har}");
    let probe = entries
        .iter()
        .find(|e| e["request"]["method"] == "PROPFIND" && e["response"]["status"] == 301)
        .expect("the central server's redirect");
    assert_eq!(probe["request"]["url"], format!("{central}remote.php/webdav/"));
    assert_eq!(probe["response"]["redirectURL"], format!("{instance2}/remote.php/webdav/"), "where it pointed");
    let authorization = probe["request"]["headers"]
        .as_array()
        .and_then(|headers| {
            headers.iter().find(|h| h["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case("authorization")))
        })
        .expect("the PROPFIND carried credentials");
    assert_eq!(authorization["value"], "Basic [redacted]");
    let verified = entries.iter().filter(|e| e["response"]["status"] == 207).count();
    assert_eq!(verified, 1, "the instance's 207");
    for entry in entries {
        let started = entry["startedDateTime"].as_str().unwrap_or_default();
        assert!(started.len() == 24 && started.ends_with('Z'), "ISO 8601 in UTC: {started}");
        assert!(entry["time"].as_f64().is_some_and(|t| t >= 0.0), "a duration: {entry}");
        for field in ["httpVersion", "headers", "queryString", "cookies", "headersSize", "bodySize"] {
            assert!(!entry["request"][field].is_null(), "request.{field}, which devtools require: {entry}");
        }
        for field in ["statusText", "content", "redirectURL", "cookies", "headersSize", "bodySize"] {
            assert!(!entry["response"][field].is_null(), "response.{field}, which devtools require: {entry}");
        }
        assert!(entry["cache"].is_object() && entry["timings"]["wait"].is_number(), "cache and timings: {entry}");
    }

    let redirect = format!("301 Moved Permanently → {instance2}");
    let mermaid = read(&files.path().join("s0.mmd"));
    assert!(mermaid.starts_with("sequenceDiagram\n"), "{mermaid}");
    for line in ["participant Client", "participant Lookup as Lookup server", "participant Instance", "    par\n"] {
        assert!(mermaid.contains(line), "Mermaid has {line:?}:\n{mermaid}");
    }
    assert!(mermaid.contains("Client->>Lookup: PROPFIND /remote.php/webdav/"), "the request:\n{mermaid}");
    assert!(mermaid.contains(&format!("Lookup-->>Client: {redirect}")), "the redirect:\n{mermaid}");
    assert!(mermaid.contains("Instance-->>Client: 207 Multi-Status"), "the instance's answer:\n{mermaid}");

    for name in ["s0.puml", "s0.txt"] {
        let plantuml = read(&files.path().join(name));
        assert!(plantuml.starts_with("@startuml\n") && plantuml.ends_with("@enduml\n"), "{name}:\n{plantuml}");
        for line in [
            "participant \"Client\" as Client",
            "participant \"Lookup server\" as Lookup",
            "participant \"Instance\" as Instance",
            "== round 2 ==",
        ] {
            assert!(plantuml.contains(line), "{name} has {line:?}:\n{plantuml}");
        }
        assert!(plantuml.contains(&format!("Lookup --> Client: {redirect}")), "the redirect:\n{plantuml}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_failed_run_still_writes_its_trace() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let files = tempfile::tempdir().expect("temp");
    let central = server.central_url().to_string();
    let instance1 = origin(&server, "instance1");
    const WRONG: &str = "not-the-s3cret-pw";
    for name in ["wrong.har", "wrong.mmd", "wrong.puml"] {
        let path = files.path().join(name).to_string_lossy().into_owned();
        let args = [
            "connect",
            &central,
            "-u",
            "test@instance1.com",
            "--password-stdin",
            "--approve-redirect",
            &instance1,
            "--json",
            "--trace",
            &path,
        ];
        let wrong = homeport(config.path(), &args, Some(WRONG)).await;
        assert_eq!(code(&wrong), 5, "a wrong password: {}", String::from_utf8_lossy(&wrong.stdout));
        assert_eq!(json(&wrong)["status"], "failed", "stdout stays one object");
        assert_no_secrets(&read(Path::new(&path)), &[WRONG], name);
    }
    let har = har(&files.path().join("wrong.har"));
    let statuses: Vec<u64> = har["log"]["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["response"]["status"].as_u64())
        .collect();
    assert!(
        statuses.contains(&301) && statuses.contains(&401),
        "the redirect, then the instance's refusal: {statuses:?}"
    );
    assert!(read(&files.path().join("wrong.mmd")).contains("401 Unauthorized"), "the refusal is drawn");

    let refused_path = files.path().join("refused.mmd");
    let refused_arg = refused_path.to_string_lossy().into_owned();
    let args = ["connect", &central, "-u", "test@instance1.com", "--password-stdin", "--trace", &refused_arg];
    let refused = homeport(config.path(), &args, Some("secret")).await;
    assert_eq!(code(&refused), 7, "an unapproved redirect: {}", String::from_utf8_lossy(&refused.stderr));
    let mermaid = read(&refused_path);
    assert!(
        mermaid.contains(&format!("Lookup-->>Client: 301 Moved Permanently → {instance1}")),
        "the redirect that needs approval is in the trace:\n{mermaid}"
    );
    assert!(!mermaid.contains("participant Instance"), "no password went to the instance:\n{mermaid}");
    assert_no_secrets(&mermaid, &["secret"], "refused.mmd");

    let bad = files.path().join("bad.har");
    let bad_arg = bad.to_string_lossy().into_owned();
    let malformed = homeport(config.path(), &["connect", "ftp://example.com", "--trace", &bad_arg], None).await;
    assert_eq!(code(&malformed), 2, "bad input");
    assert_eq!(har_entries(&bad), 0, "a run that sent nothing writes an empty HAR");
    server.shutdown().await;
}

fn har_entries(path: &Path) -> usize {
    har(path)["log"]["entries"].as_array().map(Vec::len).unwrap_or(usize::MAX)
}

#[tokio::test]
async fn an_oidc_trace_holds_no_password_code_state_or_token() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let files = tempfile::tempdir().expect("temp");
    let ocis = server.ocis_url().to_string();
    let store = AccountStore::at(config.path());
    let mut ids = Vec::new();
    for name in ["oidc.har", "oidc.mmd", "oidc.puml"] {
        let path = files.path().join(name);
        let path_arg = path.to_string_lossy().into_owned();
        let args = [
            "connect",
            &ocis,
            "--user",
            "einstein",
            "--password-stdin",
            "--browser",
            "auto-login",
            "--json",
            "--trace",
            &path_arg,
        ];
        let before = server.requests().len();
        let output = homeport(config.path(), &args, Some("relativity")).await;
        assert_eq!(code(&output), 0, "connected: {}", String::from_utf8_lossy(&output.stdout));
        let id = json(&output)["account"]["id"].as_str().expect("id").to_owned();
        // The refresh token the keyring got, and the state and nonce the browser took to the IdP.
        let refresh = store.secret(&id).expect("the refresh token is in the keyring");
        let mut secrets = vec!["relativity".to_owned(), refresh.expose().to_owned()];
        for request in &server.requests()[before..] {
            if let Some((_, query)) = request.path.split_once("/authorize?") {
                for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
                    if key == "state" || key == "nonce" {
                        secrets.push(value.into_owned());
                    }
                }
            }
        }
        assert!(secrets.len() >= 4, "the login's state and nonce were seen: {:?}", server.requests());
        let text = read(&path);
        if name.ends_with(".har") {
            assert!(text.contains("Bearer [redacted]"), "the bearer requests are there, redacted:\n{text}");
        }
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        assert_no_secrets(&text, &secrets, name);
        ids.push(id);
    }
    let mermaid = read(&files.path().join("oidc.mmd"));
    assert!(
        mermaid.contains("participant IdP") && mermaid.contains("Client->>IdP: POST "),
        "the IdP's lane:\n{mermaid}"
    );
    ids.dedup();
    for id in ids {
        store.remove(&id).expect("the keyring entry is removed again");
    }
    server.shutdown().await;
}
