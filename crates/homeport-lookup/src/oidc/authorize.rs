//! `GET|POST /authorize`: the authorization request checked, the login form, and — at the main and the Matrix zone
//! after the consent page ([`super::consent`]) — the code sent back with `iss` (RFC 9207).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use url::Url;

use super::answers::InZone;
use super::clients::Client;
use super::page::form_pairs;
use super::responses::{code_redirect, error_redirect, zone_title, ResponseMode};
use super::{check_password, is_pkce_value, now_seconds, page, Grant, Provider, Zone};

/// A validated authorization request.
#[derive(Debug)]
struct AuthorizeRequest {
    /// Every parameter as received, for the hidden fields of the form.
    params: Vec<(String, String)>,
    client: Client,
    redirect_uri: Url,
    mode: ResponseMode,
    state: Option<String>,
    nonce: Option<String>,
    scope: String,
    code_challenge: String,
    /// The `prompt` values (OpenID Connect Core §3.1.2.1), space-separated in the request.
    prompt: Vec<String>,
    /// Prefills the login form's user name, as lico's sign-in page does.
    login_hint: Option<String>,
}

impl AuthorizeRequest {
    fn prompts(&self, value: &str) -> bool {
        self.prompt.iter().any(|prompt| prompt == value)
    }
}

/// The parameters the authorization request may carry once only.
const SINGLE_PARAMS: [&str; 11] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "login_hint",
    "response_mode",
];

/// Checks an authorization request in RFC 6749 §4.1.2.1 order: problems with the client or its redirect URI are
/// shown on a page — the redirect URI of an unknown client cannot be trusted — the rest is sent back to the
/// redirect URI.
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
    let Some(client) = get("client_id").and_then(|id| provider.client(zone, &id)) else {
        let named = get("client_id").unwrap_or_default();
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            page::error(&title, &format!("invalid_client: unknown client_id {named:?}")),
        ));
    };
    let Some(redirect_uri) = get("redirect_uri").and_then(|uri| Url::parse(&uri).ok()) else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            page::error(&title, "invalid_request: redirect_uri is missing or not a URL"),
        ));
    };
    if let Err(problem) = client.redirects.check(&redirect_uri) {
        return Err(refuse(StatusCode::BAD_REQUEST, page::error(&title, &format!("invalid_request: {problem}"))));
    }
    let state = get("state");
    let issuer = provider.issuer(zone);
    // The Matrix zone answers in the query or the fragment, as MAS does; the others in the query only (lico ignores
    // the parameter).
    let (mode, mode_problem) = match (zone, get("response_mode").as_deref()) {
        (Zone::Matrix, Some("fragment")) => (ResponseMode::Fragment, None),
        (Zone::Matrix, None | Some("query")) => (ResponseMode::Query, None),
        (Zone::Matrix, Some(other)) => (ResponseMode::Query, Some(format!("response_mode {other:?} is not supported"))),
        _ => (ResponseMode::Query, None),
    };
    let back = |error: &str, description: &str| {
        error_redirect(&redirect_uri, mode, error, description, state.as_deref(), &issuer)
    };
    if let Some(problem) = mode_problem {
        return Err(Box::new(back("invalid_request", &problem)));
    }
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
    let prompt: Vec<String> =
        get("prompt").unwrap_or_default().split(' ').filter(|value| !value.is_empty()).map(str::to_owned).collect();
    if prompt.iter().any(|value| value == "none") {
        // OpenID Connect Core §3.1.2.1: `none` with another value is an error; alone it needs a session, and this
        // provider keeps none (every login shows the form).
        return Err(Box::new(if prompt.len() > 1 {
            back("invalid_request", "prompt=none cannot be combined with other prompt values")
        } else {
            back("login_required", "prompt=none: nobody is logged in")
        }));
    }
    let scope = get("scope").unwrap_or_default();
    let mut login_hint = get("login_hint");
    if zone == Zone::Matrix {
        if let Err(problem) = super::matrix_zone::check_scope(&scope) {
            return Err(Box::new(back("invalid_scope", &problem)));
        }
        login_hint = login_hint.and_then(|hint| provider.matrix_login_hint(&hint));
    }
    let nonce = get("nonce");
    Ok(AuthorizeRequest { params, client, redirect_uri, mode, state, nonce, scope, code_challenge, prompt, login_hint })
}

/// The IdP's login form for `title`.
fn idp_form(title: &str) -> page::LoginForm<'_> {
    page::LoginForm {
        title,
        action: "/authorize",
        hint: "Demo users: einstein / relativity, marie / radioactivity, richard / superfluidity.",
    }
}

/// `GET /authorize`: the login form, carrying the request in hidden fields; `login_hint` fills in the user name.
pub(super) async fn authorize_page(
    State(provider): State<Arc<Provider>>,
    InZone(zone): InZone,
    RawQuery(query): RawQuery,
) -> Response {
    let params = form_pairs(query.unwrap_or_default().as_bytes());
    match validate_authorize(&provider, zone, params) {
        Ok(request) => {
            let hint = request.login_hint.clone().unwrap_or_default();
            page::html(StatusCode::OK, page::login(&idp_form(&zone_title(zone)), &request.params, None, &hint))
        }
        Err(refusal) => *refusal,
    }
}

/// `POST /authorize`: the submitted form. Right credentials lead to the consent page at the main zone (lico asks
/// every client that is not trusted), straight back to the client with a code at a tenant's zone.
pub(super) async fn authorize_submit(
    State(provider): State<Arc<Provider>>,
    InZone(zone): InZone,
    body: Bytes,
) -> Response {
    let mut params = form_pairs(&body);
    let (username, password) = page::take_credentials(&mut params);
    let request = match validate_authorize(&provider, zone, params) {
        Ok(request) => request,
        Err(refusal) => return *refusal,
    };
    let Some(user) = check_password(provider.people(), username.trim(), &password) else {
        let title = zone_title(zone);
        let page = page::login(&idp_form(&title), &request.params, Some("Wrong user name or password."), &username);
        return page::html(StatusCode::OK, page);
    };
    let grant = Grant {
        client_id: request.client.id.clone(),
        user,
        scope: Provider::granted_scope(zone, &request.scope, request.prompts("consent")),
        zone,
        nonce: request.nonce.clone(),
        auth_time: now_seconds(),
        session: None,
    };
    match zone {
        Zone::Main | Zone::Matrix => super::consent::consent_page(
            &provider,
            &request.client,
            grant,
            request.redirect_uri,
            request.mode,
            request.code_challenge,
            request.state,
        ),
        Zone::Tenant(_) => code_redirect(
            &provider,
            grant,
            request.redirect_uri,
            request.mode,
            &request.code_challenge,
            request.state.as_deref(),
        ),
    }
}

#[cfg(test)]
mod tests {

    use url::Url;

    use crate::error::LookupError;
    use crate::oidc::OWNCLOUD_DESKTOP_CLIENT_ID;
    use crate::robot::auto_login;
    use crate::scenario::Scenario;
    use crate::testing::{authorization, localhost_client, start};
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
        let unknown_client =
            Url::parse(&request.url.as_str().replace(OWNCLOUD_DESKTOP_CLIENT_ID, "nobody")).expect("URL");
        let response = localhost_client().get(unknown_client).send().await.expect("answers");
        assert_eq!(response.status(), 400, "an unknown client is not redirected to");
        server.shutdown().await;
    }
}
