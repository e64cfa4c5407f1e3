//! The portals' SSO (`m.login.sso`): the browser opens `login/sso/redirect?redirectUrl=<loopback>`, the person
//! logs in on the portal's page (the same form as the IdP's, so [`crate::auto_login`] works here too), and the
//! browser is sent back to `redirectUrl` with a single-use `loginToken` the user's homeserver accepts once.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use url::{Host, Url};

use super::api::{MatrixError, SSO_IDP_ID};
use super::state::PortalState;
use crate::oidc::page::{self, LoginForm};

/// Where the login form posts to: the portal's own page, no Matrix endpoint.
const FORM_ACTION: &str = "/_portal/sso/login";
const TITLE: &str = "Matrix portal";
const REDIRECT_PARAM: &str = "redirectUrl";

pub(crate) fn routes() -> Router<Arc<PortalState>> {
    Router::new()
        .route("/_matrix/client/v3/login/sso/redirect", get(redirect))
        .route("/_matrix/client/v3/login/sso/redirect/{idp_id}", get(redirect_to_idp))
        .route(FORM_ACTION, post(submit))
}

fn form(hint: &str) -> LoginForm<'_> {
    LoginForm { title: TITLE, action: FORM_ACTION, hint }
}

fn hint(state: &PortalState) -> String {
    let users: Vec<String> = state
        .matrix
        .people()
        .matrix_users
        .iter()
        .map(|user| format!("{} / {}", user.localpart, user.password))
        .collect();
    format!("Demo users: {}.", users.join(", "))
}

/// `GET …/login/sso/redirect?redirectUrl=…`: the login page, carrying the request in hidden fields.
async fn redirect(State(state): State<Arc<PortalState>>, RawQuery(query): RawQuery) -> Response {
    let params = page::form_pairs(query.unwrap_or_default().as_bytes());
    if let Err(error) = redirect_url(&params) {
        return error.into_response();
    }
    page::html(StatusCode::OK, page::login(&form(&hint(&state)), &params, None, ""))
}

/// `GET …/login/sso/redirect/{idpId}`: the same, for the portal's one identity provider.
async fn redirect_to_idp(state: State<Arc<PortalState>>, Path(idp_id): Path<String>, query: RawQuery) -> Response {
    if idp_id != SSO_IDP_ID {
        return MatrixError::new(StatusCode::NOT_FOUND, "M_NOT_FOUND", format!("Unknown identity provider {idp_id}"))
            .into_response();
    }
    redirect(state, query).await
}

/// The submitted form: the right password sends the browser back with a login token.
async fn submit(State(state): State<Arc<PortalState>>, body: Bytes) -> Response {
    let mut params = page::form_pairs(&body);
    let (username, password) = page::take_credentials(&mut params);
    let target = match redirect_url(&params) {
        Ok(target) => target,
        Err(error) => {
            let message = error.body["error"].as_str().unwrap_or("invalid request").to_owned();
            return page::html(error.status, page::error(TITLE, &message));
        }
    };
    let Some(user) = state.matrix.find_user(&username).filter(|user| user.password == password) else {
        let page = page::login(&form(&hint(&state)), &params, Some("Wrong user name or password."), &username);
        return page::html(StatusCode::OK, page);
    };
    if user.deactivated {
        return page::html(StatusCode::FORBIDDEN, page::error(TITLE, "This account has been deactivated."));
    }
    let token = match state.matrix.issue_login_token(user) {
        Ok(token) => token,
        Err(error) => {
            let message = error.body["error"].as_str().unwrap_or("cannot log in").to_owned();
            return page::html(error.status, page::error(TITLE, &message));
        }
    };
    let mut location = target;
    location.query_pairs_mut().append_pair("loginToken", &token);
    match HeaderValue::from_str(location.as_str()) {
        Ok(value) => (
            StatusCode::FOUND,
            [(header::LOCATION, value), (header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        )
            .into_response(),
        // A parsed URL is always a valid header value; refuse rather than send a broken Location.
        Err(_) => page::html(StatusCode::BAD_REQUEST, page::error(TITLE, "invalid redirectUrl")),
    }
}

/// The request's `redirectUrl`: one, and a loopback `http` URL (the client's listener, RFC 8252 §7.3), so the
/// portal never hands a login token to another site.
fn redirect_url(params: &[(String, String)]) -> Result<Url, MatrixError> {
    let mut values = params.iter().filter(|(name, _)| name == REDIRECT_PARAM).map(|(_, value)| value);
    let Some(value) = values.next() else {
        return Err(MatrixError::new(
            StatusCode::BAD_REQUEST,
            "M_MISSING_PARAM",
            "Missing string query parameter redirectUrl",
        ));
    };
    let invalid =
        |why: &str| MatrixError::new(StatusCode::BAD_REQUEST, "M_INVALID_PARAM", format!("redirectUrl {why}"));
    if values.next().is_some() {
        return Err(invalid("is repeated"));
    }
    let url = Url::parse(value).map_err(|_| invalid("is not a URL"))?;
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    if url.scheme() != "http" || !loopback || !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must be an http URL on 127.0.0.1, [::1] or localhost"));
    }
    if url.fragment().is_some() {
        return Err(invalid("must not have a fragment"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use url::Url;

    use super::*;
    use crate::matrix::test_support::{get, get_with_token, login, token_login};
    use crate::testing::{localhost_client, start};
    use crate::{auto_login, auto_login_trusting, LookupError, Scenario};

    fn sso_url(portal: &Url, path: &str, redirect: &str) -> Url {
        let mut url = portal.join(path).expect("URL");
        url.query_pairs_mut().append_pair("redirectUrl", redirect);
        url
    }

    fn login_token(callback: &Url) -> String {
        callback
            .query_pairs()
            .find(|(name, _)| name == "loginToken")
            .map(|(_, value)| value.into_owned())
            .expect("the callback carries a loginToken")
    }

    #[test]
    fn only_loopback_http_redirect_urls_are_accepted() {
        let check = |value: &str| redirect_url(&[(REDIRECT_PARAM.to_owned(), value.to_owned())]);
        for good in ["http://127.0.0.1:5000/cb?x=1", "http://[::1]:9/", "http://localhost:8080/sso"] {
            assert!(check(good).is_ok(), "{good} is a loopback redirect");
        }
        for bad in [
            "https://127.0.0.1/cb",
            "http://evil.example/cb",
            "http://user@127.0.0.1/cb",
            "http://127.0.0.1/cb#frag",
            "http://sub.localhost/cb",
            "not a url",
        ] {
            let refused = check(bad).err().map(|error| error.body["errcode"].clone());
            assert_eq!(refused, Some(json!("M_INVALID_PARAM")), "{bad} is refused");
        }
        let missing = redirect_url(&[]).err().map(|error| error.body["errcode"].clone());
        assert_eq!(missing, Some(json!("M_MISSING_PARAM")), "a missing redirectUrl");
    }

    #[tokio::test]
    async fn sso_round_trip_gives_a_single_use_login_token_for_the_homeserver() {
        let server = start(Scenario::default()).await;
        let hs2 = &server.matrix_homeserver_urls()["hs2"];
        for (portal, path) in [
            (server.matrix_portal_url(), "_matrix/client/v3/login/sso/redirect"),
            (server.matrix_portal_307_url(), "_matrix/client/v3/login/sso/redirect/portal"),
        ] {
            let url = sso_url(portal, path, "http://127.0.0.1:53682/sso-callback?state=s1");
            let callback = auto_login(&url, "bob", "builder").await.expect("the robot logs in at the portal");
            assert_eq!(callback.path(), "/sso-callback", "back to the client's listener: {callback}");
            assert_eq!(callback.port(), Some(53682), "on its port");
            assert!(callback.query_pairs().any(|(k, v)| k == "state" && v == "s1"), "its own query kept: {callback}");
            let token = login_token(&callback);

            let hs1 = &server.matrix_homeserver_urls()["hs1"];
            let elsewhere = login(hs1, &token_login(&token)).await;
            assert_eq!(elsewhere.status, 403, "hs1 does not accept a token for bob");
            let answer = login(hs2, &token_login(&token)).await;
            assert_eq!(answer.status, 200, "bob's homeserver accepts the token: {:?}", answer.json);
            assert_eq!(answer.json["user_id"], format!("@bob:{}", hs2.authority()), "as bob");
            let whoami = get_with_token(
                hs2,
                "_matrix/client/v3/account/whoami",
                answer.json["access_token"].as_str().expect("an access token"),
            )
            .await;
            assert_eq!(whoami.status, 200, "the session works");
            let again = login(hs2, &token_login(&token)).await;
            assert_eq!((again.status, again.json["errcode"].as_str()), (403, Some("M_FORBIDDEN")), "single use");
        }
        server.shutdown().await;
    }

    #[tokio::test]
    async fn portals_route_login_tokens_by_the_state_they_kept() {
        let server = start(Scenario::default()).await;
        let hs1 = &server.matrix_homeserver_urls()["hs1"];
        let redirect = "http://localhost:40000/cb";
        let url = sso_url(server.matrix_portal_307_url(), "_matrix/client/v3/login/sso/redirect", redirect);
        let token = login_token(&auto_login(&url, "alice", "wonderland").await.expect("logged in"));
        let answer = login(server.matrix_portal_307_url(), &token_login(&token)).await;
        assert_eq!(answer.status, 307, "the 307 portal finds the token's homeserver");
        assert_eq!(answer.headers["location"], format!("{hs1}_matrix/client/v3/login"), "hs1's login");

        let url = sso_url(server.matrix_portal_url(), "_matrix/client/v3/login/sso/redirect", redirect);
        let token = login_token(&auto_login(&url, "alice", "wonderland").await.expect("logged in"));
        let answer = login(server.matrix_portal_url(), &token_login(&token)).await;
        assert_eq!(answer.status, 200, "the proxy portal logs in with the token at hs1: {:?}", answer.json);
        assert_eq!(answer.json["base_cs_url"], hs1.as_str(), "and names hs1");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn sso_refuses_wrong_passwords_deactivated_users_and_foreign_redirects() {
        let server = start(Scenario::default()).await;
        let portal = server.matrix_portal_url();
        let url = sso_url(portal, "_matrix/client/v3/login/sso/redirect", "http://127.0.0.1:53682/cb");

        let page = localhost_client().get(url.clone()).send().await.expect("the page");
        assert_eq!(page.status(), 200, "the login page");
        let html = page.text().await.expect("HTML");
        assert!(html.contains("<form id=\"login\" method=\"post\" action=\"/_portal/sso/login\">"), "{html}");
        assert!(html.contains("type=\"hidden\" name=\"redirectUrl\""), "the request rides along: {html}");
        assert!(html.contains("alice / wonderland"), "the demo users are hinted: {html}");

        let wrong = auto_login(&url, "alice", "wrong").await;
        assert!(
            matches!(wrong, Err(LookupError::AutoLogin(ref message)) if message.contains("Wrong user name or password")),
            "a wrong password shows the form's error: {wrong:?}"
        );
        let dave = auto_login(&url, "dave", "deactivated").await;
        assert!(
            matches!(dave, Err(LookupError::AutoLogin(ref message)) if message.contains("deactivated")),
            "a deactivated user gets the error page: {dave:?}"
        );

        let foreign = sso_url(portal, "_matrix/client/v3/login/sso/redirect", "https://evil.example/steal");
        let answer = get(portal, &foreign.as_str()[portal.as_str().len()..]).await;
        assert_eq!((answer.status, answer.json["errcode"].as_str()), (400, Some("M_INVALID_PARAM")), "no foreign site");
        let answer = get(portal, "_matrix/client/v3/login/sso/redirect").await;
        assert_eq!((answer.status, answer.json["errcode"].as_str()), (400, Some("M_MISSING_PARAM")), "required");
        let other_idp = sso_url(portal, "_matrix/client/v3/login/sso/redirect/github", "http://127.0.0.1:1/cb");
        let answer = get(portal, &other_idp.as_str()[portal.as_str().len()..]).await;
        assert_eq!(answer.status, 404, "the portal has one identity provider");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn sso_works_over_tls_for_the_portal_names() {
        let server = start(Scenario { tls: true, ..Scenario::default() }).await;
        let portal = server.matrix_portal_url();
        assert!(portal.as_str().starts_with("https://proxy.localhost:"), "https portals: {portal}");
        let certificate = server.certificate_der().expect("a certificate");
        let url = sso_url(portal, "_matrix/client/v3/login/sso/redirect", "http://127.0.0.1:53682/cb");
        let callback = auto_login_trusting(&url, "alice", "wonderland", Some(&certificate))
            .await
            .expect("the certificate covers proxy.localhost");
        assert!(callback.query().is_some_and(|query| query.contains("loginToken=")), "a token: {callback}");
        server.shutdown().await;
    }
}
