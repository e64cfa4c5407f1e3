//! The Matrix systems of the lookup server: binding the portals, the password homeservers and the OAuth-only
//! homeserver, their routers, and the accessors that tell a client where they are and who may log in.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::TcpListener;
use url::Url;

use super::{bind_std, local_addr, LookupServer};
use crate::error::LookupError;
use crate::matrix::homeserver::HomeserverState;
use crate::matrix::oauth::{OAuthHomeserverState, OAUTH_HOMESERVER, OAUTH_HOST};
use crate::matrix::state::{Matrix, PortalMode, PortalState};
use crate::matrix::{self, HOMESERVER_NAMES, PROXY_HOST, REDIRECT_HOST};
use crate::oidc::{Provider, Zone};
use crate::people::{MatrixPerson, People};
use crate::scenario::Scenario;

/// The OIDC person the demo's OAuth-only homeserver entry logs in as.
const OAUTH_DEMO_LOGIN: &str = "einstein";

/// The bound listeners of the Matrix systems and their shared state, before their routers exist.
pub(super) struct MatrixSystems {
    pub(super) state: Arc<Matrix>,
    proxy_listener: TcpListener,
    redirect_listener: TcpListener,
    homeserver_listeners: Vec<(&'static str, TcpListener)>,
    oauth_listener: TcpListener,
    pub(super) oauth_url: Url,
}

impl MatrixSystems {
    /// The OAuth-only homeserver's server name (`oauth.localhost:<port>`).
    pub(super) fn oauth_server_name(&self) -> String {
        oauth_server_name(&self.oauth_url)
    }
}

fn oauth_server_name(url: &Url) -> String {
    format!("{}:{}", url.host_str().unwrap_or_default(), url.port().unwrap_or_default())
}

/// Binds the Matrix portals and homeservers on free ports of 127.0.0.1; each is named by its own `.localhost`
/// host (which any client resolves to loopback), and answers whatever `Host` it is sent.
pub(super) fn bind(scheme: &str, scenario: &Scenario) -> Result<MatrixSystems, LookupError> {
    let loopback = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    let bind_named = |host: &str| -> Result<(TcpListener, Url), LookupError> {
        let listener = bind_std(loopback)?;
        let port = local_addr(&listener, loopback)?.port();
        let text = format!("{scheme}://{host}:{port}/");
        let url =
            Url::parse(&text).map_err(|error| LookupError::InvalidScenario(format!("Matrix URL {text}: {error}")))?;
        Ok((listener, url))
    };
    let (proxy_listener, proxy_url) = bind_named(PROXY_HOST)?;
    let (redirect_listener, redirect_url) = bind_named(REDIRECT_HOST)?;
    let mut homeserver_urls = BTreeMap::new();
    let mut homeserver_listeners = Vec::new();
    for name in HOMESERVER_NAMES {
        let (listener, url) = bind_named(&format!("{name}.localhost"))?;
        homeserver_urls.insert(name.to_owned(), url);
        homeserver_listeners.push((name, listener));
    }
    let (oauth_listener, oauth_url) = bind_named(OAUTH_HOST)?;
    let state = Matrix::new(
        homeserver_urls,
        proxy_url,
        redirect_url,
        scenario.fault,
        scenario.token_lifetime,
        scenario.people,
    )?;
    Ok(MatrixSystems {
        state: Arc::new(state),
        proxy_listener,
        redirect_listener,
        homeserver_listeners,
        oauth_listener,
        oauth_url,
    })
}

/// Each Matrix server's name in the request log, its listener and its router.
pub(super) type MatrixRouters = Vec<(&'static str, TcpListener, axum::Router)>;

/// The routers of the bound Matrix systems; the OAuth-only homeserver checks `idp`'s Matrix zone tokens.
pub(super) fn routers(
    systems: MatrixSystems,
    idp: &Arc<Provider>,
    scenario: &Scenario,
    certificate_der: Option<&[u8]>,
) -> Result<MatrixRouters, LookupError> {
    let mut routers: MatrixRouters = Vec::new();
    for (mode, server, listener) in [
        (PortalMode::Proxy, "matrix-proxy", systems.proxy_listener),
        (PortalMode::Redirect, "matrix-307", systems.redirect_listener),
    ] {
        let url = match mode {
            PortalMode::Proxy => systems.state.proxy_url().clone(),
            PortalMode::Redirect => systems.state.redirect_url().clone(),
        };
        let portal = PortalState::new(mode, url, systems.state.clone(), certificate_der)?;
        routers.push((server, listener, matrix::portal::router(Arc::new(portal))));
    }
    for (name, listener) in systems.homeserver_listeners {
        let homeserver = HomeserverState { name, matrix: systems.state.clone() };
        routers.push((name, listener, matrix::homeserver::router(Arc::new(homeserver))));
    }
    let oauth = OAuthHomeserverState { url: systems.oauth_url, provider: idp.clone(), fault: scenario.fault };
    routers.push((OAUTH_HOMESERVER, systems.oauth_listener, matrix::oauth::router(Arc::new(oauth))));
    Ok(routers)
}

impl LookupServer {
    /// The proxy-mode Matrix portal (MSC1730), with a trailing slash: `http://proxy.localhost:41245/`. Its
    /// login answers carry the homeserver's base URL in `well_known` and `base_cs_url`.
    pub fn matrix_portal_url(&self) -> &Url {
        self.matrix.proxy_url()
    }

    /// The redirect-mode Matrix portal, with a trailing slash: `http://redirect.localhost:41246/`. It answers a
    /// login with `307` to the user's homeserver, without checking the password.
    pub fn matrix_portal_307_url(&self) -> &Url {
        self.matrix.redirect_url()
    }

    /// The Matrix homeservers by name (`hs1` → `http://hs1.localhost:41247/`), each base URL with a trailing
    /// slash; a homeserver's server name is the authority of its URL (`hs1.localhost:41247`).
    pub fn matrix_homeserver_urls(&self) -> &BTreeMap<String, Url> {
        self.matrix.homeserver_urls()
    }

    /// The Matrix users with their passwords, homeservers, full user ids and special cases; last the OAuth-only
    /// homeserver's entry (`oauth`: true), who logs in in the browser at the IdP's Matrix zone.
    pub fn matrix_people(&self) -> Vec<MatrixPerson> {
        self.scenario
            .people
            .matrix_users
            .iter()
            .map(|user| MatrixPerson {
                localpart: user.localpart,
                password: user.password,
                display_name: user.display_name,
                homeserver: user.homeserver,
                user_id: self.matrix.user_id(user),
                deactivated: user.deactivated,
                rate_limited: user.rate_limited,
                oauth: false,
            })
            .chain(oauth_person(self.scenario.people, &self.matrix_oauth_server_name()))
            .collect()
    }

    /// How many `POST /_matrix/client/v3/login` the Matrix server `server` (`hs1`, `hs2`, `matrix-proxy`,
    /// `matrix-307`) has received so far: whether a password (or login token) reached it.
    pub fn matrix_login_posts(&self, server: &str) -> usize {
        let login_path = format!("/{}", matrix::LOGIN_PATH);
        self.log
            .snapshot()
            .iter()
            .filter(|request| {
                request.server == server
                    && request.method == "POST"
                    && request.path.split('?').next() == Some(login_path.as_str())
            })
            .count()
    }

    /// The OAuth-only Matrix homeserver (`docs/protocols/matrix-oauth.md`), with a trailing slash:
    /// `http://oauth.localhost:41248/`; its server name is the authority (`oauth.localhost:41248`). Its login is the
    /// spec's OAuth 2.0 API: `auth_metadata` names [`LookupServer::matrix_oauth_issuer`].
    pub fn matrix_oauth_homeserver_url(&self) -> &Url {
        &self.matrix_oauth_url
    }

    /// The OAuth-only homeserver's server name: `oauth.localhost:41248`.
    pub fn matrix_oauth_server_name(&self) -> String {
        oauth_server_name(&self.matrix_oauth_url)
    }

    /// The issuer of the OAuth-only homeserver's OAuth 2.0 server, the IdP's Matrix zone, without trailing slash:
    /// `http://matrix.auth.localhost:41239`.
    pub fn matrix_oauth_issuer(&self) -> String {
        self.idp.issuer(Zone::Matrix)
    }
}

/// The OAuth-only homeserver's demo entry: an IdP person, who logs in in the browser with the IdP's password.
pub(super) fn oauth_person(people: &People, server_name: &str) -> Option<MatrixPerson> {
    people.oidc_users.iter().find(|user| user.login == OAUTH_DEMO_LOGIN).map(|user| MatrixPerson {
        localpart: user.login,
        password: user.password,
        display_name: user.display_name,
        homeserver: OAUTH_HOMESERVER,
        user_id: format!("@{}:{server_name}", user.login),
        deactivated: false,
        rate_limited: false,
        oauth: true,
    })
}
