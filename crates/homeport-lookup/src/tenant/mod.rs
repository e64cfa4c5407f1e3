//! Tenants by host, SAP BTP style (`docs/protocols/tenant-by-host.md`): one approuter port serving every tenant by host
//! (`<tenant>.approuter.localhost`, matched by `TENANT_HOST_PATTERN`), and one identity zone per tenant on the IdP port
//! (`<tenant>.auth.localhost`), issuing JWTs with the tenant's `zid` and `<xsappname>!t<index>.<scope>` scopes. Only
//! subscribed tenants get tokens.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use regex::Regex;
use serde_json::json;

use crate::dav::{legacy_relative, route_each, serve_home, Home, Product, LEGACY_WEBDAV_ROUTES};
use crate::host::RequestHost;
use crate::ocis::{bearer_claims, status_document, BearerRefusal};
use crate::oidc::{Provider, Zone};
use crate::owncloud::not_found;
use crate::owncloud::ocs::{self, OcsFormat, OcsVersion};
use crate::people::{Tenant, XSAPPNAME};

/// The approuter's `TENANT_HOST_PATTERN`: the capture is the tenant's subdomain.
pub const TENANT_HOST_PATTERN: &str = r"^(.*)\.approuter\.localhost$";
/// The domain under which the approuter serves tenants.
pub(crate) const APPROUTER_DOMAIN: &str = "approuter.localhost";
#[derive(Debug)]
pub(crate) struct ApprouterState {
    pub(crate) port: u16,
    pub(crate) pattern: Regex,
    pub(crate) provider: Arc<Provider>,
}

impl ApprouterState {
    pub(crate) fn new(port: u16, provider: Arc<Provider>) -> Result<ApprouterState, crate::error::LookupError> {
        let pattern = Regex::new(TENANT_HOST_PATTERN)
            .map_err(|error| crate::error::LookupError::InvalidScenario(format!("TENANT_HOST_PATTERN: {error}")))?;
        Ok(ApprouterState { port, pattern, provider })
    }

    /// The tenant the request's host names, by `TENANT_HOST_PATTERN`, on this approuter's port.
    fn tenant(&self, headers: &HeaderMap, uri: &Uri) -> Result<&'static Tenant, Box<Response>> {
        let unknown = |what: String| Box::new((StatusCode::NOT_FOUND, Json(json!({"error": what}))).into_response());
        let Some(host) = RequestHost::of(headers, uri) else {
            return Err(unknown("no host".into()));
        };
        if host.port != Some(self.port) {
            return Err(unknown(format!("no tenant at {}", host.authority())));
        }
        let subdomain =
            self.pattern.captures(&host.name).and_then(|captures| captures.get(1)).map(|capture| capture.as_str());
        match subdomain.and_then(|name| self.provider.people().find_tenant(name)) {
            Some(tenant) => Ok(tenant),
            None => Err(unknown(format!("no tenant at {}", host.authority()))),
        }
    }

    fn realm(&self, tenant: &'static Tenant) -> String {
        self.provider.issuer(Zone::Tenant(tenant))
    }
}

pub(crate) fn router(state: Arc<ApprouterState>) -> Router {
    route_each(Router::new().route("/status.php", get(status)), LEGACY_WEBDAV_ROUTES, any(webdav))
        .route("/ocs/{version}/cloud/user", get(user))
        .fallback(fallback)
        .with_state(state)
}

async fn fallback() -> Response {
    (StatusCode::NOT_FOUND, "Not Found").into_response()
}

async fn status(State(state): State<Arc<ApprouterState>>, headers: HeaderMap, uri: Uri) -> Response {
    match state.tenant(&headers, &uri) {
        Ok(_) => Json(status_document("Homeport Demo (approuter)", "1.0.0")).into_response(),
        Err(refusal) => *refusal,
    }
}

async fn webdav(State(state): State<Arc<ApprouterState>>, method: Method, headers: HeaderMap, uri: Uri) -> Response {
    let tenant = match state.tenant(&headers, &uri) {
        Ok(tenant) => tenant,
        Err(refusal) => return *refusal,
    };
    let realm = state.realm(tenant);
    if let Err(refusal) = bearer_claims(&state.provider, Zone::Tenant(tenant), &headers) {
        return approuter_refusal(&refusal, &realm);
    }
    let home =
        Home { href: "/remote.php/webdav/".to_owned(), instance_tag: tenant.name.to_owned(), product: Product::Ocis };
    serve_home(&method, &headers, legacy_relative(uri.path()), &home)
}

/// The approuter always names the tenant's zone as realm, so a client knows where to log in.
fn approuter_refusal(refusal: &BearerRefusal, realm: &str) -> Response {
    match refusal {
        BearerRefusal::InvalidToken(description) => {
            crate::ocis::dav_unauthorized(&approuter_challenge(refusal, realm), description)
        }
        other => other.dav_response(realm),
    }
}

/// The approuter's `WWW-Authenticate` challenge: the realm always, the token's problem when there is one.
fn approuter_challenge(refusal: &BearerRefusal, realm: &str) -> String {
    match refusal {
        BearerRefusal::InvalidToken(description) => {
            format!("Bearer realm=\"{realm}\", error=\"invalid_token\", error_description=\"{description}\"")
        }
        _ => format!("Bearer realm=\"{realm}\""),
    }
}

/// `ocs/v{1,2}.php/cloud/user` for the bearer's user, with the tenant's `zid` and the token's scopes.
async fn user(
    State(state): State<Arc<ApprouterState>>,
    Path(version): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let tenant = match state.tenant(&headers, &uri) {
        Ok(tenant) => tenant,
        Err(refusal) => return *refusal,
    };
    let Some(version) = OcsVersion::from_segment(&version) else {
        return not_found();
    };
    let format = OcsFormat::from_query(uri.query());
    let claims = match bearer_claims(&state.provider, Zone::Tenant(tenant), &headers) {
        Ok(claims) => claims,
        Err(refusal) => {
            let challenge = approuter_challenge(&refusal, &state.realm(tenant));
            return ocs::unauthorised(StatusCode::UNAUTHORIZED, format, 997, Some(&challenge));
        }
    };
    let Some(user) = state.provider.people().find_oidc_user(&claims.preferred_username) else {
        return not_found();
    };
    ocs::ok(
        version,
        format,
        json!({
            "id": user.login,
            "display-name": user.display_name,
            "email": user.email,
            "tenant": tenant.name,
            "zid": tenant.zid,
            "scopes": claims.scope.split(' ').filter(|scope| scope.starts_with(XSAPPNAME)).collect::<Vec<_>>(),
        }),
    )
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    use serde_json::Value;
    use url::Url;

    use crate::testing::{access_token, authorization, localhost_client, log_in, propfind, start, token_request};
    use crate::{auto_login, Scenario, BUILT_IN_CLIENT_ID};

    #[test]
    fn the_pattern_captures_the_tenant() {
        let pattern = regex::Regex::new(super::TENANT_HOST_PATTERN).expect("a valid pattern");
        let captured = pattern.captures("tenant2.approuter.localhost").and_then(|c| c.get(1)).map(|c| c.as_str());
        assert_eq!(captured, Some("tenant2"), "the subdomain is the tenant");
        assert!(pattern.captures("tenant2.auth.localhost").is_none(), "only approuter hosts");
    }

    #[tokio::test]
    async fn tenant_tokens_carry_the_zone_and_the_tenant_scopes() {
        let server = start(Scenario::default()).await;
        let zone = server.tenant_issuer("tenant1").expect("tenant1's zone");
        let port = Url::parse(&zone).expect("URL").port().expect("port");
        assert_eq!(zone, format!("http://tenant1.auth.localhost:{port}"), "the zone's issuer");
        let tokens = log_in(&zone, "einstein", "relativity").await;
        let scope = tokens["scope"].as_str().expect("a scope");
        assert!(scope.contains("homeport-demo!t101.Read") && scope.contains("homeport-demo!t101.Admin"), "{scope}");

        let (_, jwks): (u16, Value) = {
            let response = localhost_client().get(format!("{zone}/jwks")).send().await.expect("answers");
            (response.status().as_u16(), response.json().await.expect("JSON"))
        };
        let key = &jwks["keys"][0];
        let decoding = DecodingKey::from_ec_components(key["x"].as_str().expect("x"), key["y"].as_str().expect("y"))
            .expect("a key");
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[&zone]);
        validation.set_audience(&["homeport"]);
        let claims = jsonwebtoken::decode::<Value>(&access_token(&tokens), &decoding, &validation)
            .expect("the zone's access token verifies")
            .claims;
        assert_eq!(claims["zid"], "a1f3c2d4-5b6e-4f70-8a9b-0c1d2e3f4a51", "the tenant's zone id");
        assert!(claims["scope"].as_str().is_some_and(|s| s.contains("!t101.")), "the tenant scopes: {claims}");
        validation.set_audience(&[BUILT_IN_CLIENT_ID]);
        let id = jsonwebtoken::decode::<Value>(tokens["id_token"].as_str().expect("ID token"), &decoding, &validation)
            .expect("the ID token verifies")
            .claims;
        assert_eq!(id["zid"], claims["zid"], "the ID token names the zone too");

        // The approuter serves tenant1 by host with tenant1's tokens only.
        let approuter = &server.tenant_urls()["tenant1"];
        assert_eq!(approuter.host_str(), Some("tenant1.approuter.localhost"), "the tenant's host");
        let status: Value = localhost_client()
            .get(approuter.join("status.php").expect("URL"))
            .send()
            .await
            .expect("answers")
            .json()
            .await
            .expect("JSON");
        assert_eq!(status["productname"], "Homeport Demo (approuter)", "the approuter's status");
        let webdav = approuter.join("remote.php/webdav/").expect("URL");
        let response =
            propfind(&localhost_client(), webdav.clone()).bearer_auth(access_token(&tokens)).send().await.expect("ok");
        assert_eq!(response.status(), 207, "tenant1's token at tenant1");
        let response = propfind(&localhost_client(), webdav.clone()).send().await.expect("answers");
        assert_eq!(response.status(), 401, "no token");
        assert_eq!(response.headers()["www-authenticate"], format!("Bearer realm=\"{zone}\"").as_str(), "realm");
        let tenant2 = server.tenant_urls()["tenant2"].join("remote.php/webdav/").expect("URL");
        let response =
            propfind(&localhost_client(), tenant2).bearer_auth(access_token(&tokens)).send().await.expect("ok");
        assert_eq!(response.status(), 401, "tenant1's token is not valid at tenant2");
        let main = log_in(&server.idp_issuer(), "einstein", "relativity").await;
        let response = propfind(&localhost_client(), webdav).bearer_auth(access_token(&main)).send().await.expect("ok");
        assert_eq!(response.status(), 401, "nor is the main zone's");
        let log = server.requests();
        assert!(log.iter().any(|r| r.server == "idp/tenant1"), "zone requests are attributed to the zone");
        assert!(log.iter().any(|r| r.server == "tenants/tenant1"), "approuter requests to the tenant");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn an_unsubscribed_tenant_is_refused() {
        let server = start(Scenario::default()).await;
        let zone = server.tenant_issuer("tenant3").expect("tenant3 exists");
        let request = authorization(&zone, "tenant3");
        let callback = auto_login(&request.url, "einstein", "relativity").await.expect("sent back to the client");
        let query: std::collections::HashMap<String, String> = callback.query_pairs().into_owned().collect();
        assert_eq!(query.get("error").map(String::as_str), Some("unauthorized_client"), "{callback}");
        assert_eq!(
            query.get("error_description").map(String::as_str),
            Some("tenant tenant3 is not subscribed to homeport-demo"),
            "the reason goes back to the client, which can say it at once"
        );
        assert_eq!(query.get("state"), Some(&request.state), "with the request's state");
        assert!(!query.contains_key("code"), "and no code");
        let (status, error) = token_request(
            &zone,
            &[
                ("grant_type", "authorization_code"),
                ("code", "x"),
                ("redirect_uri", &request.redirect_uri),
                ("client_id", BUILT_IN_CLIENT_ID),
                ("code_verifier", &request.verifier),
            ],
        )
        .await;
        assert_eq!(status, 400, "the token endpoint refuses");
        assert_eq!(error["error"], "unauthorized_client", "RFC 6749's error");
        assert_eq!(error["error_description"], "tenant tenant3 is not subscribed to homeport-demo", "the reason");
        assert!(!server.subscribed_tenants().contains(&"tenant3"), "not among the subscribed");
        server.shutdown().await;
    }
}
