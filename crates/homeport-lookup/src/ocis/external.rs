//! oCIS in front of another OpenID Provider ([`Scenario::oidc_issuer`](crate::Scenario::oidc_issuer)): WebFinger
//! names that issuer, and the server and its instances accept its access tokens, checked as oCIS's proxy checks
//! opaque tokens (`PROXY_OIDC_ACCESS_TOKEN_VERIFY_METHOD=none`): the provider's userinfo endpoint (from its
//! discovery document) answers for the bearer token, and its `preferred_username` claim
//! (`PROXY_USER_OIDC_CLAIM`) names the oCIS account. A refusal there (an expired or unknown token) is a 401
//! `invalid_token`. See docs/protocols/oidc-ocis.md.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use super::BearerRefusal;

/// How long a userinfo answer stands for its token. oCIS's proxy keeps them 10 s
/// (`PROXY_OIDC_USERINFO_CACHE_TTL`); one second is enough to spare the provider a WebFinger + PROPFIND + OCS
/// burst, and lets a test with a one-second access token see it expire.
const USERINFO_CACHE_TTL: Duration = Duration::from_secs(1);
/// The whole exchange with the provider, as a proxy bounds it.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) const REFUSED_BY_PROVIDER: &str = "the identity provider refused the token";
pub(crate) const PROVIDER_UNAVAILABLE: &str = "the identity provider could not check the token";
pub(crate) const NO_USERNAME: &str = "the identity provider names no preferred_username for the token";

/// An external issuer on loopback, and what oCIS learnt from it.
#[derive(Debug)]
pub(crate) struct ExternalIssuer {
    /// As configured (no trailing slash added or removed: it must equal the discovery document's).
    issuer: String,
    client: reqwest::Client,
    userinfo_endpoint: tokio::sync::OnceCell<Url>,
    /// SHA-256 of the token → when the answer came and the user it named.
    cache: Mutex<HashMap<[u8; 32], (Instant, String)>>,
}

/// Whether `url` names a host of this machine: 127.0.0.0/8, ::1 or `localhost` (and its subdomains).
pub(crate) fn is_loopback_url(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        Some(url::Host::Domain(name)) => {
            let name = name.to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        None => false,
    }
}

impl ExternalIssuer {
    pub(crate) fn new(issuer: &Url) -> ExternalIssuer {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .build()
            // Only fails when the TLS backend cannot initialise: then nothing of this server works anyway.
            .unwrap_or_default();
        ExternalIssuer {
            issuer: issuer.as_str().trim_end_matches('/').to_owned(),
            client,
            userinfo_endpoint: tokio::sync::OnceCell::new(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The issuer WebFinger names.
    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The oCIS user name (`preferred_username`) the provider's userinfo endpoint gives for `token`.
    pub(crate) async fn user(&self, token: &str) -> Result<String, BearerRefusal> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(user) = self.cached(&key) {
            return Ok(user);
        }
        let endpoint = self
            .userinfo_endpoint
            .get_or_try_init(|| self.discover_userinfo())
            .await
            .map_err(|_| BearerRefusal::InvalidToken(PROVIDER_UNAVAILABLE))?;
        let response = self
            .client
            .get(endpoint.clone())
            .bearer_auth(token)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|_| BearerRefusal::InvalidToken(PROVIDER_UNAVAILABLE))?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED || response.status() == reqwest::StatusCode::FORBIDDEN
        {
            return Err(BearerRefusal::InvalidToken(REFUSED_BY_PROVIDER));
        }
        if !response.status().is_success() {
            return Err(BearerRefusal::InvalidToken(PROVIDER_UNAVAILABLE));
        }
        let claims: Value = response.json().await.map_err(|_| BearerRefusal::InvalidToken(PROVIDER_UNAVAILABLE))?;
        let user = claims["preferred_username"]
            .as_str()
            .filter(|user| !user.is_empty())
            .ok_or(BearerRefusal::InvalidToken(NO_USERNAME))?
            .to_owned();
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|_, (at, _)| at.elapsed() < USERINFO_CACHE_TTL);
            cache.insert(key, (Instant::now(), user.clone()));
        }
        Ok(user)
    }

    fn cached(&self, key: &[u8; 32]) -> Option<String> {
        let cache = self.cache.lock().ok()?;
        let (at, user) = cache.get(key)?;
        (at.elapsed() < USERINFO_CACHE_TTL).then(|| user.clone())
    }

    /// The userinfo endpoint of the issuer's discovery document, which must name this very issuer (a proxy
    /// trusts one provider) and a loopback endpoint.
    async fn discover_userinfo(&self) -> Result<Url, String> {
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        let response = self.client.get(&url).send().await.map_err(|e| format!("{url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        let discovery: Value = response.json().await.map_err(|e| format!("{url}: {e}"))?;
        if discovery["issuer"].as_str() != Some(self.issuer.as_str()) {
            return Err(format!("{url} names another issuer: {}", discovery["issuer"]));
        }
        let endpoint = discovery["userinfo_endpoint"]
            .as_str()
            .and_then(|endpoint| Url::parse(endpoint).ok())
            .ok_or_else(|| format!("{url} names no userinfo_endpoint"))?;
        if !is_loopback_url(&endpoint) {
            return Err(format!("the userinfo endpoint {endpoint} is not on this machine"));
        }
        Ok(endpoint)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::Value;

    use super::{PROVIDER_UNAVAILABLE, REFUSED_BY_PROVIDER};
    use crate::ocis::{INSTANCE_REL, ISSUER_REL};
    use crate::testing::real_flow::{eventually, real_idp_tokens};
    use crate::testing::{access_token, browser_robot, localhost_client, log_in, propfind, start};
    use crate::testing::{free_loopback_port, RealIdp, RealIdpSetup};
    use crate::Scenario;

    async fn webfinger(ocis: &url::Url, resource: &str, token: Option<&str>) -> (u16, Value) {
        let mut url = ocis.join(".well-known/webfinger").expect("URL");
        url.query_pairs_mut().append_pair("resource", resource);
        let mut request = localhost_client().get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("WebFinger answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON"))
    }

    /// PROPFIND `<base>remote.php/webdav/` with `token`: the status and the challenge.
    async fn propfind_home(base: &url::Url, token: &str) -> (u16, String) {
        let response = propfind(&localhost_client(), base.join("remote.php/webdav/").expect("URL"))
            .bearer_auth(token)
            .header("Depth", "1")
            .send()
            .await
            .expect("answers");
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (response.status().as_u16(), challenge)
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn ocis_accepts_the_external_issuers_tokens_and_refuses_others() {
        // Five seconds: time for the checks below on a loaded machine, short enough to wait out.
        let idp = RealIdp::start(RealIdpSetup::Ocis { access_token_ttl: Some(Duration::from_secs(5)) });
        let issuer = url::Url::parse(idp.issuer()).expect("the issuer is a URL");
        let server = start(Scenario { oidc_issuer: Some(issuer), ..Scenario::default() }).await;
        let ocis = server.ocis_url().clone();
        assert_eq!(server.description().ocis_issuer.as_deref(), Some(idp.issuer()), "the description says so");

        let (status, jrd) = webfinger(&ocis, ocis.as_str(), None).await;
        assert_eq!(status, 200);
        assert_eq!(jrd["links"][0]["rel"], ISSUER_REL);
        assert_eq!(jrd["links"][0]["href"], idp.issuer(), "WebFinger names the external issuer: {jrd}");

        let robot = browser_robot("einstein", "relativity");
        let tokens = real_idp_tokens(&idp, &robot, None).await;
        let token = access_token(&tokens);
        let instance_a = &server.ocis_instance_urls()["A"];
        let instance_b = &server.ocis_instance_urls()["B"];
        assert_eq!(propfind_home(&ocis, &token).await.0, 207, "the oCIS server serves einstein's home");
        assert_eq!(propfind_home(instance_a, &token).await.0, 207, "so does instance A");
        assert_eq!(propfind_home(instance_b, &token).await.0, 403, "einstein has no account on B");
        let authority = format!("{}:{}", ocis.host_str().expect("host"), ocis.port().expect("port"));
        let (status, jrd) = webfinger(&ocis, &format!("acct:einstein@{authority}"), Some(&token)).await;
        assert_eq!(status, 200, "{jrd}");
        let instances: Vec<&str> = jrd["links"]
            .as_array()
            .expect("links")
            .iter()
            .filter(|link| link["rel"] == INSTANCE_REL)
            .filter_map(|link| link["href"].as_str())
            .collect();
        assert_eq!(instances, [instance_a.as_str()], "einstein's instance: {jrd}");
        let user: Value = localhost_client()
            .get(instance_a.join("ocs/v2.php/cloud/user?format=json").expect("URL"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("OCS answers")
            .json()
            .await
            .expect("JSON");
        assert_eq!(user["ocs"]["data"]["id"], "einstein", "{user}");

        let (status, challenge) = propfind_home(instance_a, "garbage-token").await;
        assert_eq!(status, 401, "a garbage token is refused");
        assert!(challenge.contains("invalid_token") && challenge.contains(REFUSED_BY_PROVIDER), "{challenge}");
        let own = access_token(&log_in(&server.idp_issuer(), "einstein", "relativity").await);
        assert_eq!(propfind_home(&ocis, &own).await.0, 401, "oCIS trusts one issuer: not the lookup's own IdP");

        // The token expires; a userinfo answer stands for a second at most.
        let refused = eventually(Duration::from_secs(20), || {
            let attempt = propfind_home(instance_a, &token);
            async move { attempt.await.0 == 401 }
        })
        .await;
        assert!(refused, "the expired token is refused within 20 s");
        let (status, challenge) = propfind_home(instance_a, &token).await;
        assert_eq!(status, 401, "and stays refused");
        assert!(challenge.contains("invalid_token") && challenge.contains(REFUSED_BY_PROVIDER), "{challenge}");
        server.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_realm_issuer_with_a_path_works_and_a_gone_issuer_is_an_invalid_token() {
        let redirect_port = free_loopback_port();
        let idp = RealIdp::start(RealIdpSetup::Keycloak { redirect_port, access_token_ttl: None });
        let issuer = url::Url::parse(idp.issuer()).expect("the issuer is a URL");
        let server = start(Scenario { oidc_issuer: Some(issuer), ..Scenario::default() }).await;
        let robot = browser_robot("marie", "radioactivity");
        let token = access_token(&real_idp_tokens(&idp, &robot, Some(redirect_port)).await);
        let instance_b = &server.ocis_instance_urls()["B"];
        assert_eq!(propfind_home(instance_b, &token).await.0, 207, "marie's token of the realm works at B");
        drop(idp);
        let refused = eventually(Duration::from_secs(10), || {
            let attempt = propfind_home(instance_b, &token);
            async move { attempt.await.0 == 401 }
        })
        .await;
        assert!(refused, "with nobody to check the token, it is refused once the cached answer is stale");
        let (status, challenge) = propfind_home(instance_b, &token).await;
        assert_eq!(status, 401);
        assert!(challenge.contains(PROVIDER_UNAVAILABLE), "{challenge}");
        server.shutdown().await;
    }
}
