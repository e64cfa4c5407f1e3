//! The main zone as oCIS's built-in IdP ships (the ownCloud desktop client only, a consent page, `iss` in the
//! callback) and the scenario's other set-ups (a public client, a Keycloak-style realm), driven over HTTP.

use std::collections::HashMap;

use serde_json::Value;
use url::Url;

use crate::error::LookupError;
use crate::oidc::{BUILT_IN_CLIENT_ID, OWNCLOUD_DESKTOP_CLIENT_ID, OWNCLOUD_DESKTOP_CLIENT_SECRET, PUBLIC_CLIENT_ID};
use crate::robot::auto_login;
use crate::scenario::{IdpSetup, PublicClient, Scenario};
use crate::testing::{authorization, authorization_for, authorization_to, code_of, localhost_client, start};
use crate::testing::{token_request, Authorization};

fn query_of(url: &Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

/// The authorization code of `request`, exchanged with the client's id and, when given, its secret.
async fn exchange(issuer: &str, request: &Authorization, secret: Option<&str>) -> (u16, Value) {
    let callback = auto_login(&request.url, "einstein", "relativity").await.expect("logged in");
    let code = code_of(&callback, request);
    let mut fields = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", request.redirect_uri.as_str()),
        ("client_id", request.client_id.as_str()),
        ("code_verifier", request.verifier.as_str()),
    ];
    if let Some(secret) = secret {
        fields.push(("client_secret", secret));
    }
    token_request(issuer, &fields).await
}

fn with_public_client(public_client: PublicClient) -> Scenario {
    Scenario { idp: IdpSetup { public_client: Some(public_client), ..IdpSetup::default() }, ..Scenario::default() }
}

#[tokio::test]
async fn homeports_own_client_id_gets_an_error_page_at_ocis_not_a_redirect() {
    let server = start(Scenario::default()).await;
    let issuer = server.idp_issuer();
    let request = authorization_for(&issuer, "old", BUILT_IN_CLIENT_ID, None);
    let response = localhost_client().get(request.url.clone()).send().await.expect("answers");
    assert_eq!(response.status(), 400, "oCIS's IdP does not know homeport-desktop");
    assert!(response.headers().get("location").is_none(), "an unknown client's redirect URI is not trusted");
    let page = response.text().await.expect("HTML");
    assert!(page.contains("unknown client_id"), "the page says why: {page}");
    let refused = auto_login(&request.url, "einstein", "relativity").await;
    assert!(
        matches!(refused, Err(LookupError::AutoLogin(ref message)) if message.contains("unknown client_id")),
        "the robot reports the error page: {refused:?}"
    );
    // The tenants' zones keep their built-in public client.
    let zone = server.tenant_issuer("tenant1").expect("tenant1's zone");
    let callback = auto_login(&authorization(&zone, "tenant").url, "einstein", "relativity").await.expect("logged in");
    assert!(query_of(&callback).contains_key("code"), "homeport-desktop logs in at a tenant's zone: {callback}");
    server.shutdown().await;
}

#[tokio::test]
async fn the_desktop_client_redirects_to_any_loopback_port_and_path() {
    let server = start(Scenario::default()).await;
    let issuer = server.idp_issuer();
    for redirect in
        ["http://127.0.0.1:40001/homeport/unguessable/callback", "http://localhost:40002/", "http://[::1]:40003/cb"]
    {
        let mut request =
            authorization_to(&issuer, "ports", OWNCLOUD_DESKTOP_CLIENT_ID, Some("select_account consent"), redirect);
        request.client_secret = Some(OWNCLOUD_DESKTOP_CLIENT_SECRET.to_owned());
        let (status, tokens) = exchange(&issuer, &request, Some(OWNCLOUD_DESKTOP_CLIENT_SECRET)).await;
        assert_eq!(status, 200, "{redirect}: {tokens}");
    }
    let request =
        authorization_to(&issuer, "remote", OWNCLOUD_DESKTOP_CLIENT_ID, None, "http://example.com:40000/callback");
    let response = localhost_client().get(request.url.clone()).send().await.expect("answers");
    assert_eq!(response.status(), 400, "no redirect to another host: an error page");
    server.shutdown().await;
}

#[tokio::test]
async fn the_consent_page_follows_the_login_and_the_callback_carries_iss() {
    let server = start(Scenario::default()).await;
    let issuer = server.idp_issuer();
    let request = authorization(&issuer, "consent");
    let login = {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(request.url.query_pairs())
            .append_pair("username", "marie")
            .append_pair("password", "radioactivity")
            .finish();
        localhost_client()
            .post(format!("{issuer}/authorize"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("answers")
    };
    assert_eq!(login.status(), 200, "the consent page, not yet a redirect");
    let page = login.text().await.expect("HTML");
    assert!(page.contains("<form id=\"consent\" method=\"post\" action=\"/authorize/consent\">"), "{page}");
    assert!(page.contains("<form id=\"cancel\" method=\"post\" action=\"/authorize/consent\">"), "{page}");
    assert!(page.contains("ownCloud desktop app") && page.contains("<li>offline_access</li>"), "what it asks: {page}");
    let ticket = page
        .split("name=\"ticket\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a ticket")
        .to_owned();
    let answer = |consent: &'static str, ticket: String| {
        let issuer = issuer.clone();
        async move {
            localhost_client()
                .post(format!("{issuer}/authorize/consent"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("ticket={ticket}&consent={consent}"))
                .send()
                .await
                .expect("answers")
        }
    };
    let denied = answer("deny", ticket.clone()).await;
    assert_eq!(denied.status(), 302, "sent back to the client");
    let location = Url::parse(denied.headers()["location"].to_str().expect("ASCII")).expect("URL");
    let query = query_of(&location);
    assert_eq!(query.get("error").map(String::as_str), Some("access_denied"), "{location}");
    assert_eq!(query.get("state").map(String::as_str), Some("state-consent"), "{location}");
    assert_eq!(query.get("iss"), Some(&issuer), "RFC 9207 on errors too: {location}");
    let again = answer("allow", ticket).await;
    assert_eq!(again.status(), 400, "a ticket is used up by its answer");

    let callback = auto_login(&request.url, "marie", "radioactivity").await.expect("the robot allows");
    let query = query_of(&callback);
    assert!(query.contains_key("code"), "a code: {callback}");
    assert_eq!(query.get("iss"), Some(&issuer), "RFC 9207: the callback names the issuer: {callback}");
    server.shutdown().await;
}

#[tokio::test]
async fn login_hint_fills_in_the_user_and_prompt_values_are_read() {
    let server = start(Scenario::default()).await;
    let issuer = server.idp_issuer();
    let request = authorization(&issuer, "hint");
    let hinted = Url::parse(&format!("{}&login_hint=marie", request.url)).expect("URL");
    let page = localhost_client().get(hinted).send().await.expect("answers").text().await.expect("HTML");
    assert!(page.contains("name=\"username\" type=\"text\" autocomplete=\"username\" value=\"marie\""), "{page}");

    let none = authorization_for(&issuer, "none", OWNCLOUD_DESKTOP_CLIENT_ID, Some("none"));
    let callback = auto_login(&none.url, "marie", "radioactivity").await.expect("an error redirect");
    assert_eq!(query_of(&callback).get("error").map(String::as_str), Some("login_required"), "{callback}");
    let mixed = authorization_for(&issuer, "mixed", OWNCLOUD_DESKTOP_CLIENT_ID, Some("none consent"));
    let callback = auto_login(&mixed.url, "marie", "radioactivity").await.expect("an error redirect");
    assert_eq!(query_of(&callback).get("error").map(String::as_str), Some("invalid_request"), "{callback}");
    let repeated = Url::parse(&format!("{}&prompt=login", request.url)).expect("URL");
    let response = localhost_client().get(repeated).send().await.expect("answers");
    assert_eq!(response.status(), 400, "prompt given twice");
    server.shutdown().await;
}

#[tokio::test]
async fn a_public_client_logs_in_without_a_secret_next_to_the_desktop_client() {
    let server = start(with_public_client(PublicClient::AnyPort)).await;
    let issuer = server.idp_issuer();
    let request = authorization_to(&issuer, "public", PUBLIC_CLIENT_ID, Some("consent"), "http://127.0.0.1:40100/cb");
    let (status, tokens) = exchange(&issuer, &request, None).await;
    assert_eq!(status, 200, "no secret: {tokens}");
    assert!(tokens["refresh_token"].as_str().is_some(), "offline_access with prompt=consent: {tokens}");
    let request = authorization_to(&issuer, "secret", PUBLIC_CLIENT_ID, None, "http://127.0.0.1:40101/cb");
    let (status, error) = exchange(&issuer, &request, Some("a-secret")).await;
    assert_eq!((status, error["error"].as_str()), (401, Some("invalid_client")), "a public client has none");
    let desktop = authorization(&issuer, "desktop");
    let (status, _) = exchange(&issuer, &desktop, Some(OWNCLOUD_DESKTOP_CLIENT_SECRET)).await;
    assert_eq!(status, 200, "the desktop client is still there");
    server.shutdown().await;
}

#[tokio::test]
async fn a_realm_knows_only_its_public_client_on_its_one_port() {
    let server = start(with_public_client(PublicClient::Realm { redirect_port: 53999 })).await;
    let issuer = server.idp_issuer();
    let description = server.description();
    assert_eq!(
        (description.oidc_client_id, description.oidc_client_secret, description.oidc_redirect_port),
        (PUBLIC_CLIENT_ID, None, Some(53999)),
        "the mock's line names the realm's client"
    );
    let request =
        authorization_to(&issuer, "realm", PUBLIC_CLIENT_ID, Some("consent"), "http://127.0.0.1:53999/homeport/x/cb");
    let (status, tokens) = exchange(&issuer, &request, None).await;
    assert_eq!(status, 200, "the registered port, any path below it: {tokens}");
    for (client_id, redirect) in [
        (PUBLIC_CLIENT_ID, "http://127.0.0.1:54000/homeport/x/cb"),
        (PUBLIC_CLIENT_ID, "http://localhost:53999/homeport/x/cb"),
        (OWNCLOUD_DESKTOP_CLIENT_ID, "http://127.0.0.1:53999/cb"),
    ] {
        let request = authorization_to(&issuer, "other", client_id, None, redirect);
        let response = localhost_client().get(request.url.clone()).send().await.expect("answers");
        assert_eq!(response.status(), 400, "{client_id} to {redirect}: an error page");
        assert!(response.headers().get("location").is_none(), "{client_id} to {redirect}: no redirect");
    }
    server.shutdown().await;
}
