//! What the OAuth-only homeserver's OAuth 2.0 server refuses, and its faults: registrations outside the Matrix
//! spec's client metadata rules, authorization requests without the Matrix scope, and the three
//! `matrix-oauth-*` faults.

use serde_json::{json, Value};
use url::Url;

use super::oauth_tests::{
    self, authorization, log_in, matrix_scope, metadata, native_client, post_json, query_of, register, token, REDIRECT,
    WHOAMI,
};
use super::test_support::get_with_token;
use crate::robot::auto_login;
use crate::testing::{localhost_client, start};
use crate::{Fault, Scenario};

/// `native_client()` with `changes` applied (`null` removes a field).
fn client_with(changes: &Value) -> Value {
    let mut client = native_client();
    if let (Value::Object(fields), Value::Object(changes)) = (&mut client, changes) {
        for (name, value) in changes {
            if value.is_null() {
                fields.remove(name);
            } else {
                fields.insert(name.clone(), value.clone());
            }
        }
    }
    client
}

/// The `Location` of an authorization request answered with a redirect (an error sent back to the client).
async fn refused_to(url: &Url) -> Url {
    let response = localhost_client().get(url.clone()).send().await.expect("the authorization endpoint answers");
    assert_eq!(response.status(), 302, "sent back to the client: {url}");
    let location = response.headers()["location"].to_str().expect("ASCII");
    Url::parse(location).expect("a URL")
}

#[tokio::test]
async fn registration_takes_native_public_clients_with_loopback_redirects_only() {
    let server = start(Scenario::default()).await;
    let metadata = metadata(&server).await;
    let endpoint = metadata["registration_endpoint"].as_str().expect("a registration endpoint").to_owned();
    let (status, client) = post_json(&endpoint, &native_client()).await;
    assert_eq!(status, 201, "registered: {client}");
    for field in ["client_name", "client_uri", "logo_uri", "application_type", "redirect_uris", "response_types"] {
        assert_eq!(client[field], native_client()[field], "{field} is echoed");
    }
    assert_eq!(client["token_endpoint_auth_method"], "none", "a public client");
    assert_eq!(client["grant_types"], json!(["authorization_code", "refresh_token"]), "unknown grant types ignored");
    assert!(client.get("client_secret").is_none(), "no secret: {client}");

    for (changes, why) in [
        (json!({"application_type": null}), "without application_type a client is a web client"),
        (json!({"application_type": "web"}), "web clients need https redirect URIs"),
        (json!({"token_endpoint_auth_method": "client_secret_basic"}), "a confidential client"),
        (json!({"token_endpoint_auth_method": null}), "RFC 7591's default is client_secret_basic"),
        (json!({"client_uri": "http://homeport.example.org/"}), "client_uri must be https"),
        (json!({"logo_uri": "https://elsewhere.example.com/logo.png"}), "the logo is not on client_uri's host"),
        (json!({"grant_types": ["refresh_token"]}), "no authorization code grant"),
        (json!({"client_name": 7}), "client_name is a string"),
    ] {
        let (status, error) = post_json(&endpoint, &client_with(&changes)).await;
        assert_eq!((status, error["error"].as_str()), (400, Some("invalid_client_metadata")), "{why}: {error}");
    }
    let (status, _) =
        post_json(&endpoint, &client_with(&json!({"logo_uri": "https://cdn.homeport.example.org/l.png"}))).await;
    assert_eq!(status, 201, "a subdomain of client_uri's host is fine");
    for uris in [
        json!(["https://127.0.0.1/callback"]),
        json!(["http://example.com/callback"]),
        json!(["http://127.0.0.1/callback#fragment"]),
        json!(["com.example.app:/callback"]),
        json!([]),
    ] {
        let (status, error) = post_json(&endpoint, &client_with(&json!({"redirect_uris": uris}))).await;
        assert_eq!((status, error["error"].as_str()), (400, Some("invalid_redirect_uri")), "{uris}: {error}");
    }

    // The zone's clients are its own: the main zone does not know them.
    let client_id = client["client_id"].as_str().expect("an id");
    let main = crate::testing::authorization_for(&server.idp_issuer(), "matrix", client_id, None);
    let response = localhost_client().get(main.url.clone()).send().await.expect("answers");
    assert_eq!(response.status(), 400, "unknown at the main zone");
    server.shutdown().await;
}

#[tokio::test]
async fn the_authorization_request_needs_the_matrix_scope_pkce_and_a_registered_redirect() {
    let server = start(Scenario::default()).await;
    let metadata = metadata(&server).await;
    let client_id = register(&metadata).await;
    for (scope, why) in [
        ("urn:matrix:client:device:ONLYDEVICE".to_owned(), "no API access"),
        ("openid urn:matrix:client:api:*".to_owned(), "no device"),
        (format!("{} urn:matrix:client:device:SECOND", matrix_scope("FIRST")), "two devices"),
        ("urn:matrix:client:api:* urn:matrix:client:device:a/b".to_owned(), "a device id with a slash"),
    ] {
        let login = authorization(&metadata, &client_id, "SCOPE", &scope, &[]);
        let location = refused_to(&login.url).await;
        assert!(location.as_str().starts_with(REDIRECT), "to the redirect URI: {location}");
        let query = query_of(&location);
        assert_eq!(query.get("error").map(String::as_str), Some("invalid_scope"), "{why}: {location}");
        assert_eq!(query.get("state"), Some(&login.state), "{why}: with the state");
    }
    let unstable = "urn:matrix:org.matrix.msc2967.client:api:* urn:matrix:org.matrix.msc2967.client:device:UNSTABLE";
    let login = authorization(&metadata, &client_id, "UNSTABLE", unstable, &[]);
    let response = localhost_client().get(login.url.clone()).send().await.expect("answers");
    assert_eq!(response.status(), 200, "MSC2967's unstable scope is the login form too");

    let scope = matrix_scope("PKCE");
    let plain = authorization(&metadata, &client_id, "PKCE", &scope, &[]);
    let plain = Url::parse(&plain.url.as_str().replace("code_challenge_method=S256", "code_challenge_method=plain"))
        .expect("URL");
    let query = query_of(&refused_to(&plain).await);
    assert_eq!(query.get("error").map(String::as_str), Some("invalid_request"), "PKCE S256 is required");
    let form_post = authorization(&metadata, &client_id, "MODE", &scope, &[("response_mode", "form_post")]);
    let query = query_of(&refused_to(&form_post.url).await);
    assert_eq!(query.get("error").map(String::as_str), Some("invalid_request"), "query or fragment only");
    for redirect in ["http://127.0.0.1:5000/elsewhere", "http://localhost:53777/callback"] {
        let mut url = authorization(&metadata, &client_id, "REDIRECT", &scope, &[]).url;
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let pairs = pairs.into_iter().map(|(k, v)| if k == "redirect_uri" { (k, redirect.to_owned()) } else { (k, v) });
        url.query_pairs_mut().clear().extend_pairs(pairs);
        let response = localhost_client().get(url).send().await.expect("answers");
        assert_eq!(response.status(), 400, "{redirect} is not registered: shown, not redirected to");
    }

    let other_server = "mxid:@einstein:hs1.localhost:1";
    let login = authorization(&metadata, &client_id, "HINT", &scope, &[("login_hint", other_server)]);
    let page = localhost_client().get(login.url.clone()).send().await.expect("answers").text().await.expect("HTML");
    assert!(page.contains("name=\"username\" type=\"text\" autocomplete=\"username\" value=\"\""), "{page}");
    server.shutdown().await;
}

#[tokio::test]
async fn the_fragment_mode_and_the_openid_scope_are_honoured() {
    let server = start(Scenario::default()).await;
    let metadata = metadata(&server).await;
    let client_id = register(&metadata).await;
    let scope = format!("openid {}", matrix_scope("FRAGMENT"));
    let login = authorization(&metadata, &client_id, "FRAGMENT", &scope, &[("response_mode", "fragment")]);
    let callback = auto_login(&login.url, "einstein", "relativity").await.expect("the robot logs in");
    assert_eq!(callback.query(), None, "nothing in the query: {callback}");
    let fragment: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(callback.fragment().expect("a fragment").as_bytes()).into_owned().collect();
    assert_eq!(fragment.get("state"), Some(&login.state), "the state in the fragment");
    assert!(fragment.contains_key("code"), "the code in the fragment: {callback}");

    let query_login =
        authorization(&metadata, &client_id, "OPENID", &format!("openid {}", matrix_scope("OPENID")), &[]);
    let (status, tokens) = log_in(&metadata, &client_id, &query_login).await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["id_token"].as_str().is_some(), "openid asked: an ID token: {tokens}");
    assert!(tokens["refresh_token"].as_str().is_some(), "and a refresh token");
    server.shutdown().await;
}

#[tokio::test]
async fn the_matrix_oauth_faults_refuse_registration_refuse_the_code_and_mix_up_the_device() {
    let with = |fault| Scenario { fault: Some(fault), ..Scenario::default() };

    let server = start(with(Fault::MatrixOauthRegistrationRefused)).await;
    let metadata = oauth_tests::metadata(&server).await;
    let endpoint = metadata["registration_endpoint"].as_str().expect("an endpoint");
    let (status, error) = post_json(endpoint, &native_client()).await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_client_metadata")), "refused: {error}");
    server.shutdown().await;

    let server = start(with(Fault::MatrixOauthTokenRefused)).await;
    let metadata = oauth_tests::metadata(&server).await;
    let client_id = register(&metadata).await;
    let login = authorization(&metadata, &client_id, "REFUSED", &matrix_scope("REFUSED"), &[]);
    let (status, error) = log_in(&metadata, &client_id, &login).await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")), "the code is refused: {error}");
    server.shutdown().await;

    let server = start(with(Fault::MatrixOauthWhoamiMismatch)).await;
    let metadata = oauth_tests::metadata(&server).await;
    let client_id = register(&metadata).await;
    let login = authorization(&metadata, &client_id, "ASKED", &matrix_scope("ASKED"), &[]);
    let (status, tokens) = log_in(&metadata, &client_id, &login).await;
    assert_eq!(status, 200, "the login works: {tokens}");
    let whoami = get_with_token(server.matrix_oauth_homeserver_url(), WHOAMI, token(&tokens, "access_token")).await;
    assert_eq!(whoami.status, 200, "whoami answers");
    assert_ne!(whoami.json["device_id"], "ASKED", "another device than the token's: {:?}", whoami.json);
    server.shutdown().await;
}
