//! What `homeport mock` prints on its first line: where every system of the lookup server listens and who may log
//! in. Scenario files read it through `${…}` placeholders (`${central}`, `${origin:instances.instance2}`), so its
//! keys and shapes are an interface.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::Value;
use url::Url;

/// The lookup server's description (see [`LookupServer::description`](crate::LookupServer::description)): URLs, demo
/// users and their passwords, and the certificate fingerprint; the oCIS server and instances, the IdP, the tenant
/// pattern and approuter URLs, the OIDC users and their passwords; the Matrix portals, homeservers, users and
/// passwords, the OAuth-only homeserver and its issuer; the canary's URL; the Nextcloud GSS, nodes, accounts and their passwords and nodes.
///
/// Its `Display` is the JSON line `homeport mock` prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Description {
    /// The address a person types (ownCloud's central server).
    pub central: Url,
    /// The ownCloud instances by name.
    pub instances: BTreeMap<String, Url>,
    /// The ownCloud demo users' logins.
    pub users: Vec<&'static str>,
    /// Their one password.
    pub password: &'static str,
    /// The SHA-256 fingerprint of the self-signed certificate (`AB:CD:…`), `None` without TLS.
    pub tls_certificate_sha256: Option<String>,
    /// The oCIS server.
    pub ocis: Url,
    /// The external issuer the oCIS server trusts instead of the IdP below ([`Scenario::oidc_issuer`](crate::Scenario::oidc_issuer)), without trailing slash;
    /// `None`: the IdP below.
    pub ocis_issuer: Option<String>,
    /// The oCIS instances by name.
    pub ocis_instances: BTreeMap<String, Url>,
    /// The IdP's issuer (main zone), without trailing slash.
    pub idp: String,
    /// The IdP's own client: the ownCloud desktop client (oCIS's IdP), or `homeport` in a realm.
    pub oidc_client_id: &'static str,
    /// Its secret (the ownCloud desktop client's public one); `None` for a public client.
    pub oidc_client_secret: Option<&'static str>,
    /// The one redirect port a realm registered; `None`: any port.
    pub oidc_redirect_port: Option<u16>,
    /// Whether the IdP offers dynamic client registration.
    pub oidc_registration: bool,
    /// The public client the tenants' identity zones know.
    pub tenant_client_id: &'static str,
    /// The IdP's users' logins.
    pub oidc_users: Vec<&'static str>,
    /// Their passwords, by login.
    pub oidc_passwords: BTreeMap<&'static str, &'static str>,
    /// The IdP's users whom oCIS refuses.
    pub oidc_disabled_users: Vec<&'static str>,
    /// The approuter's `TENANT_HOST_PATTERN`.
    pub tenant_pattern: &'static str,
    /// Every tenant's approuter URL by tenant.
    pub tenants: BTreeMap<String, Url>,
    /// Every tenant's identity zone issuer by tenant.
    pub tenant_issuers: BTreeMap<&'static str, String>,
    /// The zone issuer with `{tenant}` for the tenant.
    pub tenant_issuer_template: String,
    /// The tenants subscribed to the application.
    pub tenants_subscribed: Vec<&'static str>,
    /// The proxy-mode Matrix portal.
    pub matrix_portal: Url,
    /// The redirect-mode (307) Matrix portal.
    pub matrix_portal_307: Url,
    /// The Matrix homeservers by name.
    pub matrix_homeservers: BTreeMap<String, Url>,
    /// The Matrix users' localparts.
    pub matrix_users: Vec<&'static str>,
    /// Their passwords, by localpart.
    pub matrix_passwords: BTreeMap<&'static str, &'static str>,
    /// The Matrix users whose homeserver refuses them with `M_USER_DEACTIVATED`.
    pub matrix_deactivated_users: Vec<&'static str>,
    /// The Matrix users whose first login is rate limited.
    pub matrix_rate_limited_users: Vec<&'static str>,
    /// The OAuth-only Matrix homeserver (the spec's OAuth 2.0 API only), with a trailing slash.
    pub matrix_oauth_homeserver: Url,
    /// Its server name (`oauth.localhost:<port>`): its users are `@<IdP login>:<this>`.
    pub matrix_oauth_server_name: String,
    /// The issuer of its OAuth 2.0 server (the IdP's Matrix zone), without trailing slash.
    pub matrix_oauth_issuer: String,
    /// The canary of fault `redirect-to-other-origin`.
    pub canary: Url,
    /// The Nextcloud Global Site Selector (Login Flow v2), with a trailing slash.
    pub nextcloud_gss: Url,
    /// The Nextcloud nodes by name (`node1`, `node2`), with a trailing slash.
    pub nextcloud_nodes: BTreeMap<String, Url>,
    /// The Nextcloud accounts' logins.
    pub nextcloud_users: Vec<&'static str>,
    /// Their account passwords, by login (the GSS's login page takes them; the nodes only take app passwords).
    pub nextcloud_passwords: BTreeMap<&'static str, &'static str>,
    /// The node that holds each account, by login.
    pub nextcloud_user_nodes: BTreeMap<&'static str, &'static str>,
}

impl Description {
    /// The description as JSON, for `${…}` placeholders that walk it by key.
    pub fn to_json(&self) -> Value {
        // Every field is a string, a list or a map of strings: nothing here can fail to serialize.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl fmt::Display for Description {
    /// One line of JSON. It goes through a [`Value`], as the description always did, so the keys come out in the
    /// order they always have (serde_json's maps sort them unless its `preserve_order` feature is on).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}
