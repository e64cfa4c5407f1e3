//! The Nextcloud Global Scale systems of the lookup server: binding the GSS and the nodes, and the accessors that
//! tell a client where they are and who may log in.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::TcpListener;
use url::Url;

use super::{base_url, bind_std, local_addr, LookupServer};
use crate::error::LookupError;
use crate::nextcloud::state::Nextcloud;
use crate::nextcloud::{self, NODE_NAMES};
use crate::people::NextcloudPerson;
use crate::scenario::Scenario;

/// Each Nextcloud server's name in the request log, its listener and its router.
type NextcloudRouters = Vec<(String, TcpListener, axum::Router)>;

/// Binds the Nextcloud GSS and nodes on free ports of 127.0.0.1 with their routers. Under `nextcloud-node-down`
/// the nodes' ports are closed again at once: connections to them are refused.
pub(super) fn start(scheme: &str, scenario: &Scenario) -> Result<(Arc<Nextcloud>, NextcloudRouters), LookupError> {
    let loopback = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    let gss_listener = bind_std(loopback)?;
    let gss_url = base_url(scheme, local_addr(&gss_listener, loopback)?)?;
    let (mut node_urls, mut listeners) = (BTreeMap::new(), BTreeMap::new());
    for name in NODE_NAMES {
        let listener = bind_std(loopback)?;
        node_urls.insert(name.to_owned(), base_url(scheme, local_addr(&listener, loopback)?)?);
        listeners.insert(name, listener);
    }
    let nextcloud = Arc::new(Nextcloud::new(gss_url, node_urls, scenario.fault, scenario.people));
    let mut gss_listener = Some(gss_listener);
    let routers = nextcloud::routers(&nextcloud)
        .into_iter()
        .filter_map(|(server, node, router)| {
            let listener = match node {
                Some(node) => listeners.remove(node),
                None => gss_listener.take(),
            };
            Some((server, listener?, router))
        })
        .collect();
    Ok((nextcloud, routers))
}

impl LookupServer {
    /// The Nextcloud Global Site Selector, with a trailing slash (`http://127.0.0.1:41260/`): where Login Flow v2
    /// starts (`POST index.php/login/v2`).
    pub fn nextcloud_gss_url(&self) -> &Url {
        self.nextcloud.gss_url()
    }

    /// The Nextcloud nodes by name (`node1` → `http://127.0.0.1:41261/`), with a trailing slash; under fault
    /// `nextcloud-node-down` their ports refuse connections.
    pub fn nextcloud_node_urls(&self) -> &BTreeMap<String, Url> {
        self.nextcloud.node_urls()
    }

    /// The Nextcloud accounts with their account passwords and nodes.
    pub fn nextcloud_people(&self) -> Vec<NextcloudPerson> {
        self.scenario
            .people
            .nextcloud_users
            .iter()
            .map(|user| NextcloudPerson {
                login: user.login,
                password: user.password,
                display_name: user.display_name,
                node: user.node,
                node_url: self.nextcloud.server_of(user.node),
            })
            .collect()
    }

    /// Whether `password` is an app password of `login` that its node accepts now (it was created by a grant or
    /// `getapppassword` and not deleted): what a keyring should hold.
    pub fn is_nextcloud_app_password(&self, login: &str, password: &str) -> bool {
        self.nextcloud.is_app_password(login, password)
    }

    /// Acts out Login Flow v2's 20 minutes passing for QA and tests: every flow the GSS started so far is expired
    /// (its login URL answers "Your login token is invalid or has expired", its poll `404`); new flows work.
    pub fn expire_nextcloud_flows(&self) {
        self.nextcloud.expire_all_flows();
    }

    /// How many app passwords each Nextcloud node accepts now, by node (`node1`, `node2`).
    pub fn nextcloud_app_password_counts(&self) -> BTreeMap<String, usize> {
        self.nextcloud.app_password_counts()
    }
}
