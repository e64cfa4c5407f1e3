//! The provider's HTTP endpoints, the same under every identity zone (chosen by the `Host` header).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use url::Url;

use super::{
    bearer_token, check_password, is_loopback_redirect, is_pkce_value, now_seconds, page, Grant, OAuthError, Provider,
    Zone,
};
use crate::host::RequestHost;
use crate::owncloud::BasicCredentials;

/// The provider's routes; the caller adds the recorder.
pub(crate) fn router(provider: Arc<Provider>) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/register", post(register))
        .route("/authorize", get(authorize_page).post(authorize_submit))
        .route("/token", post(token))
        .route("/userinfo", get(userinfo).post(userinfo))
        .route("/revoke", post(revoke))
        .fallback(fallback)
        .with_state(provider)
}

async fn fallback() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"error": "not_found"}))).into_response()
}

/// The identity zone named by the request's host; other hosts get a 404.
pub(crate) struct InZone(pub(crate) Zone);

impl FromRequestParts<Arc<Provider>> for InZone {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, provider: &Arc<Provider>) -> Result<InZone, Response> {
        let host = RequestHost::of(&parts.headers, &parts.uri);
        match host.as_ref().and_then(|host| provider.zone_for_host(host)) {
            Some(zone) => Ok(InZone(zone)),
            None => {
                let named = host.map(|host| host.authority()).unwrap_or_default();
                Err((
                    StatusCode::NOT_FOUND,
                    Json(json!({
                        "error": "unknown_zone",
                        "error_description": format!("no identity zone is served at host {named:?}"),
                    })),
                )
                    .into_response())
            }
        }
    }
}

async fn discovery(State(provider): State<Arc<Provider>>, InZone(zone): InZone) -> Response {
    let issuer = provider.issuer(zone);
    let mut document = json!({
        "issuer": provider.advertised_issuer(zone),
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks"),
        "registration_endpoint": format!("{issuer}/register"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "code_challenge_methods_supported": ["S256"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "scopes_supported": super::SUPPORTED_SCOPES,
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "name", "preferred_username",
                             "email", "email_verified", "zid"],
        "authorization_response_iss_parameter_supported": true,
    });
    if !provider.offers_registration() {
        if let Some(fields) = document.as_object_mut() {
            fields.remove("registration_endpoint");
        }
    }
    Json(document).into_response()
}

async fn jwks(State(provider): State<Arc<Provider>>, InZone(_zone): InZone) -> Response {
    Json(provider.jwks()).into_response()
}

/// RFC 7591 dynamic registration of a public native client with loopback redirect URIs.
async fn register(State(provider): State<Arc<Provider>>, InZone(_zone): InZone, body: Bytes) -> Response {
    if !provider.offers_registration() {
        return fallback().await;
    }
    match registration(&provider, &body) {
        Ok(answer) => (StatusCode::CREATED, no_store(), Json(answer)).into_response(),
        Err(error) => oauth_error(&error),
    }
}

fn registration(provider: &Provider, body: &[u8]) -> Result<Value, OAuthError> {
    let metadata: Value = serde_json::from_slice(body)
        .map_err(|error| OAuthError::new("invalid_client_metadata", format!("the body is not JSON: {error}")))?;
    let Some(requested) = metadata["redirect_uris"].as_array().filter(|uris| !uris.is_empty()) else {
        return Err(OAuthError::new("invalid_redirect_uri", "redirect_uris must be a non-empty array"));
    };
    let mut redirect_uris = Vec::new();
    for uri in requested {
        let parsed = uri.as_str().and_then(|text| Url::parse(text).ok());
        match parsed {
            Some(url) if is_loopback_redirect(&url) => redirect_uris.push(url),
            _ => {
                return Err(OAuthError::new(
                    "invalid_redirect_uri",
                    format!(
                        "{uri} is not a loopback redirect URI (http://127.0.0.1:<port>/… or http://[::1]:<port>/…)"
                    ),
                ))
            }
        }
    }
    match &metadata["token_endpoint_auth_method"] {
        Value::Null => {}
        Value::String(method) if method == "none" => {}
        other => {
            return Err(OAuthError::new(
                "invalid_client_metadata",
                format!("token_endpoint_auth_method {other} is not supported; only \"none\" (a public client)"),
            ))
        }
    }
    let grant_types = string_list(&metadata["grant_types"], &["authorization_code", "refresh_token"], "grant_types")?
        .unwrap_or_else(|| vec!["authorization_code".to_owned()]);
    let response_types =
        string_list(&metadata["response_types"], &["code"], "response_types")?.unwrap_or_else(|| vec!["code".into()]);
    let client_name = metadata["client_name"].as_str().map(str::to_owned);
    let uris: Vec<String> = redirect_uris.iter().map(Url::to_string).collect();
    let client_id = provider.register(redirect_uris)?;
    let mut answer = json!({
        "client_id": client_id,
        "client_id_issued_at": now_seconds(),
        "redirect_uris": uris,
        "token_endpoint_auth_method": "none",
        "grant_types": grant_types,
        "response_types": response_types,
    });
    if let Some(name) = client_name {
        answer["client_name"] = Value::from(name);
    }
    Ok(answer)
}

/// An optional array of strings, each one of `allowed`.
fn string_list(value: &Value, allowed: &[&str], field: &str) -> Result<Option<Vec<String>>, OAuthError> {
    if value.is_null() {
        return Ok(None);
    }
    let invalid = || OAuthError::new("invalid_client_metadata", format!("{field} must be a subset of {allowed:?}"));
    let items = value.as_array().ok_or_else(invalid)?;
    items
        .iter()
        .map(|item| item.as_str().filter(|text| allowed.contains(text)).map(str::to_owned).ok_or_else(invalid))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// A validated authorization request.
#[derive(Debug)]
struct AuthorizeRequest {
    /// Every parameter as received, for the hidden fields of the form.
    params: Vec<(String, String)>,
    client_id: String,
    redirect_uri: Url,
    state: Option<String>,
    nonce: Option<String>,
    scope: String,
    code_challenge: String,
}

/// The parameters the authorization request may carry once only.
const SINGLE_PARAMS: [&str; 8] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
];

/// Checks an authorization request in RFC 6749 §4.1.2.1 order: problems with the client or its redirect URI are
/// shown on a page, the rest is sent back to the redirect URI.
fn validate_authorize(
    provider: &Provider,
    zone: Zone,
    params: Vec<(String, String)>,
) -> Result<AuthorizeRequest, Box<Response>> {
    let title = zone_title(zone);
    let refuse = |status: StatusCode, body: String| Box::new(page::html(status, body));
    for name in SINGLE_PARAMS {
        if params.iter().filter(|(key, _)| key == name).count() > 1 {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                page::error(&title, &format!("invalid_request: the parameter {name} is repeated")),
            ));
        }
    }
    let get = |name: &str| params.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    let Some(client_id) = get("client_id").filter(|id| provider.is_known_client(id)) else {
        return Err(refuse(StatusCode::BAD_REQUEST, page::error(&title, "invalid_client: unknown client_id")));
    };
    let Some(redirect_uri) = get("redirect_uri").and_then(|uri| Url::parse(&uri).ok()) else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            page::error(&title, "invalid_request: redirect_uri is missing or not a URL"),
        ));
    };
    if let Err(problem) = provider.check_client(&client_id, &redirect_uri) {
        return Err(refuse(StatusCode::BAD_REQUEST, page::error(&title, &format!("invalid_request: {problem}"))));
    }
    let state = get("state");
    let issuer = provider.issuer(zone);
    let back =
        |error: &str, description: &str| error_redirect(&redirect_uri, error, description, state.as_deref(), &issuer);
    if let Zone::Tenant(tenant) = zone {
        // The client and its redirect are genuine, so the refusal goes back to it (RFC 6749 §4.1.2.1): the app
        // can say why at once instead of leaving the person at an error page.
        if !tenant.subscribed {
            return Err(Box::new(back("unauthorized_client", &tenant.refusal())));
        }
    }
    if get("response_type").as_deref() != Some("code") {
        return Err(Box::new(back("unsupported_response_type", "only response_type=code is supported")));
    }
    if get("code_challenge_method").as_deref() != Some("S256") {
        return Err(Box::new(back("invalid_request", "PKCE is required: code_challenge_method must be S256")));
    }
    let Some(code_challenge) = get("code_challenge").filter(|challenge| is_pkce_value(challenge)) else {
        return Err(Box::new(back("invalid_request", "PKCE is required: code_challenge is missing or malformed")));
    };
    let scope = get("scope").unwrap_or_default();
    let nonce = get("nonce");
    Ok(AuthorizeRequest { params, client_id, redirect_uri, state, nonce, scope, code_challenge })
}

/// The IdP's login form for `title`.
fn idp_form(title: &str) -> page::LoginForm<'_> {
    page::LoginForm {
        title,
        action: "/authorize",
        hint: "Demo users: einstein / relativity, marie / radioactivity, richard / superfluidity.",
    }
}

fn zone_title(zone: Zone) -> String {
    match zone {
        Zone::Main => "Infinite Scale".to_owned(),
        Zone::Tenant(tenant) => format!("{} · identity zone", tenant.name),
    }
}

fn error_redirect(redirect_uri: &Url, error: &str, description: &str, state: Option<&str>, issuer: &str) -> Response {
    let mut location = redirect_uri.clone();
    {
        let mut query = location.query_pairs_mut();
        query.append_pair("error", error).append_pair("error_description", description);
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", issuer);
    }
    found(&location)
}

fn found(location: &Url) -> Response {
    match HeaderValue::from_str(location.as_str()) {
        Ok(value) => (StatusCode::FOUND, no_store(), [(header::LOCATION, value)]).into_response(),
        // A parsed URL is always a valid header value; refuse rather than send a broken Location.
        Err(_) => page::html(StatusCode::BAD_REQUEST, page::error("Error", "invalid redirect URI")),
    }
}

fn form_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

/// `GET /authorize`: the login form, carrying the request in hidden fields.
async fn authorize_page(
    State(provider): State<Arc<Provider>>,
    InZone(zone): InZone,
    RawQuery(query): RawQuery,
) -> Response {
    let params = form_pairs(query.unwrap_or_default().as_bytes());
    match validate_authorize(&provider, zone, params) {
        Ok(request) => page::html(StatusCode::OK, page::login(&idp_form(&zone_title(zone)), &request.params, None, "")),
        Err(refusal) => *refusal,
    }
}

/// `POST /authorize`: the submitted form; right credentials redirect back with a code.
async fn authorize_submit(State(provider): State<Arc<Provider>>, InZone(zone): InZone, body: Bytes) -> Response {
    let mut params = form_pairs(&body);
    let username = take(&mut params, "username").unwrap_or_default();
    let password = take(&mut params, "password").unwrap_or_default();
    let request = match validate_authorize(&provider, zone, params) {
        Ok(request) => request,
        Err(refusal) => return *refusal,
    };
    let Some(user) = check_password(username.trim(), &password) else {
        let title = zone_title(zone);
        let page = page::login(&idp_form(&title), &request.params, Some("Wrong user name or password."), &username);
        return page::html(StatusCode::OK, page);
    };
    let grant = Grant {
        client_id: request.client_id,
        user,
        scope: Provider::granted_scope(zone, &request.scope),
        zone,
        nonce: request.nonce,
        auth_time: now_seconds(),
    };
    let code = match provider.create_code(grant, &request.redirect_uri, &request.code_challenge) {
        Ok(code) => code,
        Err(error) => return page::html(error.status, page::error(&zone_title(zone), &error.description)),
    };
    let mut location = request.redirect_uri;
    {
        let mut query = location.query_pairs_mut();
        query.append_pair("code", &code);
        if let Some(state) = &request.state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", &provider.issuer(zone));
    }
    found(&location)
}

/// Removes every `name` parameter, returning the first value.
fn take(params: &mut Vec<(String, String)>, name: &str) -> Option<String> {
    let value = params.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    params.retain(|(key, _)| key != name);
    value
}

/// `POST /token`: authorization code (with PKCE) and refresh token grants.
async fn token(
    State(provider): State<Arc<Provider>>,
    InZone(zone): InZone,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match token_grant(&provider, zone, &headers, &body) {
        Ok(tokens) => (StatusCode::OK, no_store(), Json(tokens)).into_response(),
        Err(error) => oauth_error(&error),
    }
}

fn token_grant(provider: &Provider, zone: Zone, headers: &HeaderMap, body: &[u8]) -> Result<Value, OAuthError> {
    if let Zone::Tenant(tenant) = zone {
        if !tenant.subscribed {
            return Err(OAuthError::new("unauthorized_client", tenant.refusal()));
        }
    }
    let params = form_pairs(body);
    for (name, _) in &params {
        if params.iter().filter(|(key, _)| key == name).count() > 1 {
            return Err(OAuthError::new("invalid_request", format!("the parameter {name} is repeated")));
        }
    }
    let get = |name: &str| params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
    let required =
        |name: &str| get(name).ok_or_else(|| OAuthError::new("invalid_request", format!("{name} is missing")));
    // A public client names itself in the body; some libraries send it as a Basic user with an empty secret.
    let basic_user = BasicCredentials::from_headers(headers).map(|credentials| credentials.user);
    let client_id = get("client_id").map(str::to_owned).or(basic_user);
    if let Some(client_id) = &client_id {
        if !provider.is_known_client(client_id) {
            return Err(OAuthError::new("invalid_client", format!("unknown client_id {client_id:?}")));
        }
    }
    match get("grant_type") {
        Some("authorization_code") => {
            let code = required("code")?;
            let redirect_uri = required("redirect_uri")?;
            let code_verifier = required("code_verifier")?;
            let client_id = client_id.ok_or_else(|| OAuthError::new("invalid_request", "client_id is missing"))?;
            provider.exchange_code(zone, code, &client_id, redirect_uri, code_verifier)
        }
        Some("refresh_token") => provider.refresh(zone, required("refresh_token")?, client_id.as_deref()),
        Some(other) => Err(OAuthError::new("unsupported_grant_type", format!("grant_type {other:?} is not supported"))),
        None => Err(OAuthError::new("invalid_request", "grant_type is missing")),
    }
}

/// `GET|POST /userinfo` with a bearer access token of this zone.
async fn userinfo(State(provider): State<Arc<Provider>>, InZone(zone): InZone, headers: HeaderMap) -> Response {
    let Some(token) = bearer_token(&headers) else {
        return unauthorized(format!("Bearer realm=\"{}\"", provider.issuer(zone)));
    };
    let claims = match provider.validate_access(zone, token) {
        Ok(claims) => claims,
        Err(problem) => return unauthorized(problem.challenge()),
    };
    let Some(user) = claims.user() else {
        return unauthorized(super::TokenProblem::Invalid.challenge());
    };
    let mut info = json!({
        "sub": user.sub,
        "name": user.display_name,
        "preferred_username": user.login,
        "email": user.email,
        "email_verified": true,
    });
    if let Some(zid) = claims.zid {
        info["zid"] = Value::from(zid);
    }
    (no_store(), Json(info)).into_response()
}

/// `POST /revoke` (RFC 7009): always 200 for a well-formed request.
async fn revoke(State(provider): State<Arc<Provider>>, InZone(_zone): InZone, body: Bytes) -> Response {
    let params = form_pairs(&body);
    let Some((_, token)) = params.iter().find(|(key, _)| key == "token") else {
        return oauth_error(&OAuthError::new("invalid_request", "token is missing"));
    };
    provider.revoke(token);
    (StatusCode::OK, no_store()).into_response()
}

pub(crate) fn unauthorized(challenge: String) -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": "invalid_token", "error_description": "a valid bearer access token is required"})),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

fn oauth_error(error: &OAuthError) -> Response {
    (error.status, no_store(), Json(error.body())).into_response()
}

/// RFC 6749 §5.1: token answers must not be cached.
fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    use serde_json::{json, Value};
    use url::Url;

    use crate::test_support::{access_token, authorization, code_of, localhost_client, log_in, start, token_request};
    use crate::{auto_login, LookupError, Scenario, BUILT_IN_CLIENT_ID};

    async fn get_json(url: &str) -> (u16, Value) {
        let response = localhost_client().get(url).send().await.expect("the IdP answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON"))
    }

    #[tokio::test]
    async fn discovery_names_every_endpoint_under_the_issuer() {
        let server = start(Scenario::default()).await;
        let issuer = server.idp_issuer();
        assert!(issuer.starts_with("http://127.0.0.1:") && !issuer.ends_with('/'), "issuer without slash: {issuer}");
        let (status, config) = get_json(&format!("{issuer}/.well-known/openid-configuration")).await;
        assert_eq!(status, 200, "discovery answers");
        assert_eq!(config["issuer"], issuer.as_str(), "the issuer is the IdP URL");
        for (field, path) in [
            ("authorization_endpoint", "/authorize"),
            ("token_endpoint", "/token"),
            ("userinfo_endpoint", "/userinfo"),
            ("jwks_uri", "/jwks"),
            ("registration_endpoint", "/register"),
            ("revocation_endpoint", "/revoke"),
        ] {
            assert_eq!(config[field], format!("{issuer}{path}"), "{field}");
        }
        assert_eq!(config["response_types_supported"], json!(["code"]), "code flow only");
        assert_eq!(config["grant_types_supported"], json!(["authorization_code", "refresh_token"]), "grants");
        assert_eq!(config["code_challenge_methods_supported"], json!(["S256"]), "PKCE S256");
        assert_eq!(config["id_token_signing_alg_values_supported"], json!(["ES256"]), "ES256");
        assert_eq!(config["scopes_supported"], json!(["openid", "profile", "email", "offline_access"]), "scopes");
        assert_eq!(config["token_endpoint_auth_methods_supported"], json!(["none"]), "public clients");

        let (status, jwks) = get_json(&format!("{issuer}/jwks")).await;
        assert_eq!(status, 200, "JWKS answers");
        let key = &jwks["keys"][0];
        assert_eq!((key["kty"].as_str(), key["crv"].as_str()), (Some("EC"), Some("P-256")), "a P-256 key");
        assert_eq!((key["alg"].as_str(), key["use"].as_str()), (Some("ES256"), Some("sig")), "for signatures");
        assert_eq!(key["kid"], "homeport-lookup-1", "its kid");

        let zone = server.tenant_issuer("tenant1").expect("tenant1's zone");
        let (status, config) = get_json(&format!("{zone}/.well-known/openid-configuration")).await;
        assert_eq!(status, 200, "a tenant zone answers on the same port by host");
        assert_eq!(config["issuer"], zone.as_str(), "with its own issuer");
        assert_eq!(config["token_endpoint"], format!("{zone}/token"), "and endpoints under its host");
        let port = Url::parse(&zone).expect("URL").port().expect("a port");
        let (status, _) =
            get_json(&format!("http://tenant9.auth.localhost:{port}/.well-known/openid-configuration")).await;
        assert_eq!(status, 404, "an unknown zone is not served");
        server.shutdown().await;
    }

    async fn register(issuer: &str, metadata: &Value) -> (u16, Value) {
        let response =
            localhost_client().post(format!("{issuer}/register")).json(metadata).send().await.expect("answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON"))
    }

    #[tokio::test]
    async fn registration_accepts_loopback_redirects_only() {
        let server = start(Scenario::default()).await;
        let issuer = server.idp_issuer();
        let (status, client) = register(
            &issuer,
            &json!({
                "redirect_uris": ["http://127.0.0.1:40123/callback", "http://[::1]:40123/callback"],
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "client_name": "Homeport",
            }),
        )
        .await;
        assert_eq!(status, 201, "registered: {client}");
        let client_id = client["client_id"].as_str().expect("a client id");
        assert!(client_id.len() > 12 && client_id != BUILT_IN_CLIENT_ID, "a random client id: {client_id}");
        assert!(client["client_id_issued_at"].as_u64().is_some(), "issued at");
        assert_eq!(client["token_endpoint_auth_method"], "none", "a public client");
        assert_eq!(client["redirect_uris"][0], "http://127.0.0.1:40123/callback", "the redirect URIs");

        for bad in ["https://example.com/callback", "http://localhost:4000/cb", "http://10.0.0.1/cb", "not a url"] {
            let (status, error) = register(&issuer, &json!({"redirect_uris": [bad]})).await;
            assert_eq!((status, error["error"].as_str()), (400, Some("invalid_redirect_uri")), "{bad} refused");
        }
        let (status, error) = register(
            &issuer,
            &json!({"redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "client_secret_basic"}),
        )
        .await;
        assert_eq!((status, error["error"].as_str()), (400, Some("invalid_client_metadata")), "public only");

        // The registered client may use another port (RFC 8252 §7.3) but not another path.
        let mut request = authorization(&issuer, "registered");
        let other_port = "http://127.0.0.1:51000/callback";
        let url = request.url.as_str().replace(BUILT_IN_CLIENT_ID, client_id).replace(
            &url::form_urlencoded::byte_serialize(request.redirect_uri.as_bytes()).collect::<String>(),
            &url::form_urlencoded::byte_serialize(other_port.as_bytes()).collect::<String>(),
        );
        request.url = Url::parse(&url).expect("URL");
        let callback = auto_login(&request.url, "einstein", "relativity").await.expect("another port is fine");
        assert_eq!(callback.port(), Some(51000), "the callback goes to the port asked for: {callback}");
        let wrong_path = Url::parse(&url.replace("%2Fcallback", "%2Felsewhere")).expect("URL");
        let refused = auto_login(&wrong_path, "einstein", "relativity").await;
        assert!(matches!(refused, Err(LookupError::AutoLogin(ref m)) if m.contains("not registered")), "{refused:?}");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn the_login_page_is_a_form_and_wrong_passwords_show_an_error() {
        let server = start(Scenario::default()).await;
        let request = authorization(&server.idp_issuer(), "page");
        let response = localhost_client().get(request.url.clone()).send().await.expect("answers");
        assert_eq!(response.status(), 200, "the login page");
        let page = response.text().await.expect("HTML");
        assert!(page.contains("<form id=\"login\" method=\"post\" action=\"/authorize\">"), "{page}");
        assert!(page.contains("name=\"username\"") && page.contains("type=\"password\""), "credentials inputs");
        assert!(page.contains("type=\"hidden\" name=\"code_challenge\""), "the request rides along: {page}");
        assert!(page.contains("id=\"submit\""), "a submit button");

        let wrong = auto_login(&request.url, "einstein", "wrong").await;
        assert!(
            matches!(wrong, Err(LookupError::AutoLogin(ref message)) if message.contains("Wrong user name or password")),
            "a wrong password shows the form's error: {wrong:?}"
        );

        // No PKCE: sent back to the client with an error.
        let without_pkce =
            Url::parse(&request.url.as_str().replace("code_challenge_method=S256", "code_challenge_method=plain"))
                .expect("URL");
        let response = localhost_client().get(without_pkce).send().await.expect("answers");
        assert_eq!(response.status(), 302, "an error redirect");
        let location = response.headers()["location"].to_str().expect("ASCII");
        assert!(location.starts_with("http://127.0.0.1:53682/callback?error=invalid_request"), "{location}");
        assert!(location.contains("state=state-page"), "with the state: {location}");
        let unknown_client = Url::parse(&request.url.as_str().replace(BUILT_IN_CLIENT_ID, "nobody")).expect("URL");
        let response = localhost_client().get(unknown_client).send().await.expect("answers");
        assert_eq!(response.status(), 400, "an unknown client is not redirected to");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn the_code_flow_checks_pkce_and_codes_are_single_use() {
        let server = start(Scenario::default()).await;
        let issuer = server.idp_issuer();
        let request = authorization(&issuer, "flow");
        let callback = auto_login(&request.url, "marie", "radioactivity").await.expect("logged in");
        assert_eq!(callback.as_str().split('?').next(), Some("http://127.0.0.1:53682/callback"), "to the client");
        let code = code_of(&callback, &request);
        let exchange = |code: String, verifier: String| {
            let issuer = issuer.clone();
            let redirect_uri = request.redirect_uri.clone();
            async move {
                token_request(
                    &issuer,
                    &[
                        ("grant_type", "authorization_code"),
                        ("code", &code),
                        ("redirect_uri", &redirect_uri),
                        ("client_id", BUILT_IN_CLIENT_ID),
                        ("code_verifier", &verifier),
                    ],
                )
                .await
            }
        };
        let (status, tokens) = exchange(code.clone(), request.verifier.clone()).await;
        assert_eq!(status, 200, "the right verifier gets tokens: {tokens}");
        assert_eq!(tokens["token_type"], "Bearer", "bearer tokens");
        assert_eq!(tokens["expires_in"], 300, "the scenario's lifetime");
        assert_eq!(tokens["scope"], "openid profile email offline_access", "the granted scope");
        for field in ["access_token", "refresh_token", "id_token"] {
            assert!(tokens[field].as_str().is_some_and(|value| !value.is_empty()), "{field} is issued");
        }
        let (status, error) = exchange(code, request.verifier.clone()).await;
        assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")), "a used code is refused");

        let second = authorization(&issuer, "wrong-verifier");
        let callback = auto_login(&second.url, "marie", "radioactivity").await.expect("logged in");
        let (status, error) = exchange(code_of(&callback, &second), request.verifier.clone()).await;
        assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")), "a wrong verifier: {error}");

        let (status, error) = token_request(&issuer, &[("grant_type", "password")]).await;
        assert_eq!((status, error["error"].as_str()), (400, Some("unsupported_grant_type")), "no password grant");
        let (status, error) = token_request(&issuer, &[("grant_type", "authorization_code")]).await;
        assert_eq!((status, error["error"].as_str()), (400, Some("invalid_request")), "missing parameters");
        let (status, error) =
            token_request(&issuer, &[("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_id", "nobody")])
                .await;
        assert_eq!((status, error["error"].as_str()), (400, Some("invalid_client")), "an unknown client");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn the_id_token_verifies_with_the_jwks_and_carries_the_nonce() {
        let server = start(Scenario::default()).await;
        let issuer = server.idp_issuer();
        let tokens = log_in(&issuer, "einstein", "relativity").await;
        let (_, jwks) = get_json(&format!("{issuer}/jwks")).await;
        let key = &jwks["keys"][0];
        let decoding = DecodingKey::from_ec_components(key["x"].as_str().expect("x"), key["y"].as_str().expect("y"))
            .expect("an EC key from the JWK");
        let id_token = tokens["id_token"].as_str().expect("an ID token");
        let header = jsonwebtoken::decode_header(id_token).expect("a JWS");
        assert_eq!((header.alg, header.kid.as_deref()), (Algorithm::ES256, Some("homeport-lookup-1")), "ES256 + kid");
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[&issuer]);
        validation.set_audience(&[BUILT_IN_CLIENT_ID]);
        let claims = jsonwebtoken::decode::<Value>(id_token, &decoding, &validation).expect("a valid ID token").claims;
        assert_eq!(claims["nonce"], "nonce-einstein", "the nonce of the authorization request");
        assert_eq!(claims["preferred_username"], "einstein", "the user");
        assert_eq!(claims["name"], "Albert Einstein", "the name");
        assert_eq!(claims["email"], "einstein@example.org", "the email");
        assert!(claims["exp"].as_u64() > claims["iat"].as_u64(), "expires after issue");

        let mut access_validation = Validation::new(Algorithm::ES256);
        access_validation.set_issuer(&[&issuer]);
        access_validation.set_audience(&["homeport"]);
        let access =
            jsonwebtoken::decode::<Value>(&access_token(&tokens), &decoding, &access_validation).expect("a JWT").claims;
        assert!(access["jti"].as_str().is_some() && access["scope"].as_str().is_some(), "jti and scope: {access}");
        assert_eq!(access.get("zid"), None, "the main zone has no tenant");

        let response = localhost_client()
            .get(format!("{issuer}/userinfo"))
            .bearer_auth(access_token(&tokens))
            .send()
            .await
            .expect("userinfo answers");
        assert_eq!(response.status(), 200, "userinfo with the access token");
        let info: Value = response.json().await.expect("JSON");
        assert_eq!(info["preferred_username"], "einstein", "userinfo's user");
        assert_eq!(info["sub"], claims["sub"], "the same subject as the ID token");

        let response =
            localhost_client().get(format!("{issuer}/userinfo")).bearer_auth("garbage").send().await.expect("answers");
        assert_eq!(response.status(), 401, "an invalid token");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\", error_description=\"invalid\"",
            "the Bearer error"
        );
        server.shutdown().await;
    }

    #[tokio::test]
    async fn refresh_rotates_and_revocation_ends_the_grant() {
        let server = start(Scenario::default()).await;
        let issuer = server.idp_issuer();
        let tokens = log_in(&issuer, "einstein", "relativity").await;
        let old = tokens["refresh_token"].as_str().expect("a refresh token").to_owned();
        let refresh = |token: String| {
            let issuer = issuer.clone();
            async move {
                token_request(
                    &issuer,
                    &[("grant_type", "refresh_token"), ("refresh_token", &token), ("client_id", BUILT_IN_CLIENT_ID)],
                )
                .await
            }
        };
        let (status, renewed) = refresh(old.clone()).await;
        assert_eq!(status, 200, "the refresh token works once: {renewed}");
        let new = renewed["refresh_token"].as_str().expect("a new refresh token").to_owned();
        assert_ne!(new, old, "rotation: a new refresh token");
        assert_ne!(renewed["access_token"], tokens["access_token"], "and a new access token");
        let (status, error) = refresh(old).await;
        assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")), "the old one is revoked");

        let response = localhost_client()
            .post(format!("{issuer}/revoke"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={new}&token_type_hint=refresh_token"))
            .send()
            .await
            .expect("revocation answers");
        assert_eq!(response.status(), 200, "revoked");
        let (status, error) = refresh(new).await;
        assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")), "a revoked token is refused");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn expired_access_tokens_are_refused_at_userinfo() {
        let server = start(Scenario { token_lifetime: Duration::from_secs(1), ..Scenario::default() }).await;
        let issuer = server.idp_issuer();
        let tokens = log_in(&issuer, "marie", "radioactivity").await;
        assert_eq!(tokens["expires_in"], 1, "the scenario's lifetime");
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let response = localhost_client()
            .get(format!("{issuer}/userinfo"))
            .bearer_auth(access_token(&tokens))
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), 401, "expired");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\", error_description=\"The Access Token expired\"",
            "seed 002's message"
        );
        server.shutdown().await;
    }

    #[tokio::test]
    async fn idp_faults_mix_up_the_issuer_forge_the_signature_and_expire_the_first_access_token() {
        use crate::Fault;
        let mixed_up = start(Scenario { fault: Some(Fault::IdpIssuerMismatch), ..Scenario::default() }).await;
        let issuer = mixed_up.idp_issuer();
        let (_, config) = get_json(&format!("{issuer}/.well-known/openid-configuration")).await;
        assert_ne!(config["issuer"].as_str(), Some(issuer.as_str()), "the document speaks for another issuer");
        mixed_up.shutdown().await;

        let forged = start(Scenario { fault: Some(Fault::IdpBadSignature), ..Scenario::default() }).await;
        let issuer = forged.idp_issuer();
        let tokens = log_in(&issuer, "einstein", "relativity").await;
        let (_, jwks) = get_json(&format!("{issuer}/jwks")).await;
        let key = &jwks["keys"][0];
        let decoding = DecodingKey::from_ec_components(key["x"].as_str().expect("x"), key["y"].as_str().expect("y"))
            .expect("an EC key from the JWK");
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[&issuer]);
        validation.set_audience(&[BUILT_IN_CLIENT_ID]);
        let id_token = tokens["id_token"].as_str().expect("an ID token");
        assert!(jsonwebtoken::decode::<Value>(id_token, &decoding, &validation).is_err(), "the signature is forged");
        forged.shutdown().await;

        let expired = start(Scenario { fault: Some(Fault::ExpiredAccessToken), ..Scenario::default() }).await;
        let issuer = expired.idp_issuer();
        let tokens = log_in(&issuer, "einstein", "relativity").await;
        let userinfo = |token: String| {
            let issuer = issuer.clone();
            async move {
                let response = localhost_client()
                    .get(format!("{issuer}/userinfo"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .expect("userinfo answers");
                response.status().as_u16()
            }
        };
        assert_eq!(userinfo(access_token(&tokens)).await, 401, "the first access token is already expired");
        let refresh = tokens["refresh_token"].as_str().expect("a refresh token");
        let (status, renewed) = token_request(
            &issuer,
            &[("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", BUILT_IN_CLIENT_ID)],
        )
        .await;
        assert_eq!(status, 200, "refresh works: {renewed}");
        assert_eq!(userinfo(access_token(&renewed)).await, 200, "the refreshed access token is good");
        expired.shutdown().await;
    }

    #[tokio::test]
    async fn revoked_refresh_token_refuses_every_refresh_but_keeps_the_access_token() {
        let server = start(Scenario { fault: Some(crate::Fault::RevokedRefreshToken), ..Scenario::default() }).await;
        let issuer = server.idp_issuer();
        let tokens = log_in(&issuer, "marie", "radioactivity").await;
        let refresh_token = tokens["refresh_token"].as_str().expect("the login still issues a refresh token");
        for attempt in ["first", "second"] {
            let (status, error) = token_request(
                &issuer,
                &[("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("client_id", BUILT_IN_CLIENT_ID)],
            )
            .await;
            assert_eq!(status, 400, "{attempt} refresh: refused");
            assert_eq!(error["error"], "invalid_grant", "{attempt} refresh: the grant is gone: {error}");
            assert!(error.get("access_token").is_none(), "{attempt} refresh: no new tokens");
        }
        let response = localhost_client()
            .get(format!("{issuer}/userinfo"))
            .bearer_auth(access_token(&tokens))
            .send()
            .await
            .expect("userinfo answers");
        assert_eq!(response.status(), 200, "the access token already issued still works until it expires");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn the_log_has_no_passwords_codes_or_tokens() {
        let server = start(Scenario::default()).await;
        let tokens = log_in(&server.idp_issuer(), "einstein", "relativity").await;
        let log = serde_json::to_string(&server.requests()).expect("the log serializes");
        assert!(log.contains("\"server\":\"idp\""), "the IdP's requests are recorded: {log}");
        assert!(!log.contains("relativity"), "no password: {log}");
        for field in ["access_token", "refresh_token", "id_token"] {
            let token = tokens[field].as_str().expect("a token");
            assert!(!log.contains(token), "no {field} in the log");
        }
        server.shutdown().await;
    }
}
