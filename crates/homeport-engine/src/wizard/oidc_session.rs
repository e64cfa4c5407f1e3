//! The OpenID Connect path after the browser (docs/protocols/oidc-ocis.md): the code for tokens
//! beside the provider's keys (JWKS), the ID token checked, userinfo — beside the WebFinger lookup
//! of the account's instances when the ID token already names the person meant — and the
//! session the rest of the path verifies with. Why these pairs may share a round:
//! docs/benchmarks.md#round-trips.

use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use oauth2::TokenResponse;
use url::Url;

use super::oidc_tokens::{self, Tokens};
use crate::address::{Origin, ServerUrl};
use crate::error::{quoting, snippet, ConnectError};
use crate::http::{Auth, HttpClient, HttpRequest, HttpResponse};
use crate::loopback::{CallbackRejected, LoopbackCallback};
use crate::oidc::{self, IdClaims, InstanceLink, LoginRequest, ProviderMetadata};
use crate::oidc_client::OidcClient;
use crate::owncloud::{self, ServerStatus};
use crate::secret::Secret;
use crate::trace::Participant;

/// How long the wizard waits for the person to finish logging in in the browser.
pub const BROWSER_LOGIN_TIMEOUT: Duration = Duration::from_secs(300);

/// A login waiting for the browser.
pub struct BrowserLogin {
    pub status: ServerStatus,
    pub metadata: ProviderMetadata,
    pub client: OidcClient,
    pub login: LoginRequest,
    pub callback: LoopbackCallback,
}

/// What the rest of the path needs after the login.
pub struct Session {
    pub metadata: ProviderMetadata,
    pub client: OidcClient,
    pub tokens: Tokens,
    /// What went beside userinfo, and its answers.
    pub ahead: Option<Ahead>,
}

/// What may go beside userinfo once the ID token names the person meant: the account's next
/// step, with the same token to the server that asked for it.
pub enum Beside<'a> {
    /// WebFinger's lookup of the account's instances at this server (oCIS).
    Instances(&'a ServerUrl),
    /// The verification at this instance (a tenant's approuter): PROPFIND ‖ the OCS user.
    Verify(&'a ServerUrl),
}

/// Requests sent ahead, beside userinfo, and their answers.
// One per login, short-lived: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Ahead {
    Instances {
        subject: String,
        answer: Result<HttpResponse, ConnectError>,
    },
    Verify {
        instance: ServerUrl,
        propfind: Result<HttpResponse, ConnectError>,
        user: Result<HttpResponse, ConnectError>,
    },
}

impl Session {
    pub async fn refresh(&mut self, http: &HttpClient) -> Result<(), ConnectError> {
        oidc_tokens::refresh_tokens(http, &self.client, &self.metadata.token_endpoint, &mut self.tokens).await
    }
}

/// Waits for the browser, exchanges the code (PKCE verifier) beside fetching the provider's keys,
/// checks the ID token, and reads userinfo. `beside`: the account's next step, sent beside
/// userinfo only when no user is `typed` or the ID token names them — otherwise the person is
/// asked first whether to go on as the user the provider logged in, and the token goes nowhere
/// before.
pub async fn finish_login(
    http: &HttpClient,
    login: BrowserLogin,
    beside: Beside<'_>,
    typed: Option<&str>,
) -> Result<Session, ConnectError> {
    let redirect_uri = login.callback.redirect_uri().clone();
    // A callback with another state is no answer to this login: 400, and the wait goes on.
    let code = login
        .callback
        .receive(BROWSER_LOGIN_TIMEOUT, |target| match login.login.is_this_login(target) {
            true => Ok(login.login.code_from_callback(target)),
            false => Err(CallbackRejected::new("it belongs to no login Homeport started (state mismatch)")),
        })
        .await??;
    // Why together: the keys are public and need nothing of the token answer.
    let round = http.trace().next_round();
    let (answer, jwks) = futures_util::future::join(
        oidc_tokens::exchange_code(
            http,
            &login.client,
            &login.metadata.token_endpoint,
            &redirect_uri,
            &code,
            login.login.pkce_verifier(),
            round,
        ),
        fetch_jwks(http, &login.metadata, round),
    )
    .await;
    let answer = answer?;
    let id_token = answer
        .extra_fields()
        .id_token
        .clone()
        .ok_or_else(|| ConnectError::InvalidIdToken { reason: "the token answer has no ID token".into() })?;
    let claims = oidc::validate_id_token(
        &id_token,
        &jwks?,
        &login.metadata.issuer,
        &login.client.client_id,
        login.login.nonce(),
    )?;
    let mut session = Session {
        tokens: Tokens {
            access: Secret::new(answer.access_token().secret().clone()),
            refresh: answer.refresh_token().map(|t| Secret::new(t.secret().clone())),
            claims,
            scopes: answer.scopes().map(|scopes| scopes.iter().map(|s| s.to_string()).collect()).unwrap_or_default(),
            access_expires_at: oidc_tokens::expires_at(&answer),
        },
        metadata: login.metadata,
        client: login.client,
        ahead: None,
    };
    let meant = typed.is_none_or(|typed| is_typed_user(typed, &session.tokens.claims));
    // Why optional: the ID token already names the person; userinfo only adds to it.
    if let Some(endpoint) = session.metadata.userinfo_endpoint.clone() {
        let beside = meant.then_some(beside);
        session.tokens.claims = userinfo(http, &endpoint, &mut session, beside).await?;
    }
    Ok(session)
}

/// The bearer PROPFIND and the OCS user at `instance`: the verification of an OpenID Connect
/// account, sent together.
pub fn bearer_verification(instance: &ServerUrl, access: &Secret) -> [HttpRequest; 2] {
    let propfind = HttpRequest::new(owncloud::propfind(), owncloud::dav_url(instance), Participant::Instance)
        .header("Depth", "0")
        .header("Content-Type", "application/xml; charset=utf-8")
        .auth(Auth::Bearer(access.clone()))
        .body(owncloud::PROPFIND_BODY);
    let user = owncloud::ocs_request(
        reqwest::Method::GET,
        instance.join(owncloud::USER_PATH),
        Participant::Instance,
        Auth::Bearer(access.clone()),
    );
    [propfind, user]
}

/// `GET userinfo` with the new access token (refreshed once if it already expired: a long login,
/// a skewed clock); its answer must be about the same subject. `beside`, the instance lookup, goes
/// in its first round.
async fn userinfo(
    http: &HttpClient,
    endpoint: &Url,
    session: &mut Session,
    mut beside: Option<Beside<'_>>,
) -> Result<IdClaims, ConnectError> {
    let mut refreshed = false;
    loop {
        let request = HttpRequest::new(reqwest::Method::GET, endpoint.clone(), Participant::Idp)
            .header("Accept", "application/json")
            .auth(Auth::Bearer(session.tokens.access.clone()));
        let round = http.trace().next_round();
        let answer = match beside.take() {
            Some(Beside::Instances(server)) => {
                let (subject, lookup) = instances_request(server, session);
                let (answer, instances) =
                    futures_util::future::join(http.send(&request, round), http.send(&lookup, round)).await;
                session.ahead = Some(Ahead::Instances { subject, answer: instances });
                answer?
            }
            Some(Beside::Verify(instance)) => {
                let [propfind, user] = bearer_verification(instance, &session.tokens.access);
                let (answer, propfind, user) = futures_util::future::join3(
                    http.send(&request, round),
                    http.send(&propfind, round),
                    http.send(&user, round),
                )
                .await;
                session.ahead = Some(Ahead::Verify { instance: instance.clone(), propfind, user });
                answer?
            }
            None => http.send(&request, round).await?,
        };
        let expired =
            answer.status == 401 && answer.header_values("www-authenticate").join(", ").contains("invalid_token");
        if expired && !refreshed && session.tokens.refresh.is_some() {
            session.refresh(http).await?;
            refreshed = true;
            continue;
        }
        let answer = expect_ok(answer, "200 OK with the user's claims")?;
        return oidc::userinfo_for(&answer.url, &answer.body, &session.tokens.claims);
    }
}

/// Whether the provider's user is the one the person typed: their login name, email or subject,
/// or the name part of an address typed as `user@server`.
pub fn is_typed_user(typed: &str, claims: &IdClaims) -> bool {
    let typed = typed.trim().to_lowercase();
    let same = |value: &Option<String>| value.as_deref().is_some_and(|v| v.to_lowercase() == typed);
    let local = typed.rsplit_once('@').map(|(local, _)| local.to_owned());
    same(&claims.preferred_username)
        || same(&claims.email)
        || claims.sub.to_lowercase() == typed
        || local.is_some_and(|local| claims.preferred_username.as_deref().is_some_and(|u| u.to_lowercase() == local))
}

/// The name to show for the provider's user.
pub fn logged_in_as(claims: &IdClaims) -> String {
    claims.preferred_username.clone().or_else(|| claims.email.clone()).unwrap_or_else(|| claims.sub.clone())
}

async fn fetch_jwks(http: &HttpClient, metadata: &ProviderMetadata, round: u32) -> Result<JwkSet, ConnectError> {
    let request = HttpRequest::new(reqwest::Method::GET, metadata.jwks_uri.clone(), Participant::Idp)
        .header("Accept", "application/json");
    let answer = expect_ok(http.send(&request, round).await?, "200 OK with the provider's keys (JWKS)")?;
    serde_json::from_slice(&answer.body).map_err(|e| ConnectError::InvalidResponse {
        url: answer.url.to_string(),
        what: "JWKS",
        reason: quoting(&e, &answer.body),
    })
}

/// WebFinger `acct:<user>@<host>` at `server` with the bearer token, and its subject.
fn instances_request(server: &ServerUrl, session: &Session) -> (String, HttpRequest) {
    let user = session.tokens.claims.preferred_username.clone().unwrap_or_else(|| session.tokens.claims.sub.clone());
    let host = Origin::of(server.as_url()).to_string();
    let host = host.split_once("://").map_or(host.as_str(), |(_, rest)| rest).to_owned();
    let subject = format!("acct:{user}@{host}");
    let request = HttpRequest::new(
        reqwest::Method::GET,
        oidc::webfinger_url(server, &subject, oidc::SERVER_INSTANCE_REL),
        Participant::Lookup,
    )
    .header("Accept", "application/jrd+json, application/json")
    .auth(Auth::Bearer(session.tokens.access.clone()));
    (subject, request)
}

/// oCIS instance discovery: WebFinger `acct:<user>@<host>` with the bearer token — the answer
/// that went beside userinfo when it asked about the same subject and was a 200, else asked now.
pub async fn find_instances(
    http: &HttpClient,
    server: &ServerUrl,
    session: &Session,
) -> Result<Vec<InstanceLink>, ConnectError> {
    let (subject, request) = instances_request(server, session);
    let ahead = match &session.ahead {
        Some(Ahead::Instances { subject: asked, answer: Ok(answer) }) if *asked == subject => Some(answer),
        _ => None,
    }
    .filter(|answer| answer.status == 200);
    let answer = match ahead {
        Some(answer) => answer.clone(),
        None => expect_ok(
            http.send(&request, http.trace().next_round()).await?,
            "200 OK with the account's instances (WebFinger)",
        )?,
    };
    oidc::instances_from_webfinger(&answer.url, &answer.body, &subject)
}

pub fn expect_ok(answer: HttpResponse, expected: &'static str) -> Result<HttpResponse, ConnectError> {
    if answer.status == 200 {
        Ok(answer)
    } else {
        Err(ConnectError::UnexpectedStatus {
            url: answer.url.to_string(),
            status: answer.status,
            expected,
            snippet: snippet(&answer.body),
        })
    }
}
