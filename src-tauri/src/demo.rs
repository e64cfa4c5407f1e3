//! Demo mode: the embedded lookup server, started inside the app on loopback.

use std::net::{Ipv4Addr, SocketAddr};

use homeport_engine::tenant::TenantProfile;
use homeport_engine::{ErrorCode, ErrorReport};
use homeport_lookup::{LookupServer, Scenario, TENANT_HOST_PATTERN};

use crate::ipc::{
    error, DemoInfo, DemoInstance, DemoMatrix, DemoMatrixOAuth, DemoMatrixOAuthPerson, DemoMatrixPerson, DemoNextcloud,
    DemoNextcloudPerson, DemoOidcPerson, DemoPerson, DemoPortal, DemoSelfSigned, DemoTenant, PortalMode,
};

/// The name the demo's multitenant application goes by (its xsappname,
/// docs/protocols/tenant-by-host.md).
const DEMO_APPLICATION: &str = "homeport-demo";

#[derive(Default)]
pub struct Demo {
    running: tokio::sync::Mutex<Option<Running>>,
    /// What the lookup server acts out: the built-in demo, or a demo file's settings.
    scenario: Scenario,
}

struct Running {
    server: LookupServer,
    /// The same systems over https with a self-signed certificate (all its servers share it):
    /// the demo's "self-signed certificate" entry, for the trust page. Its tenants are not
    /// offered, so the tenant profile stays the main server's.
    self_signed: LookupServer,
    /// How the demo's tenant hosts map to identity zones; given to every wizard while the demo
    /// runs, so typing a tenant's address works like it would with a configured application.
    tenants: TenantProfile,
}

impl Demo {
    /// The demo acting out `scenario` (a demo file's `[lookup]`).
    pub fn with_scenario(scenario: Scenario) -> Demo {
        Demo { running: tokio::sync::Mutex::default(), scenario }
    }

    /// Starts the lookup server (or returns the one already running).
    pub async fn start(&self) -> Result<DemoInfo, ErrorReport> {
        let mut running = self.running.lock().await;
        if running.is_none() {
            let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
            let server = LookupServer::start(loopback, self.scenario.clone())
                .await
                .map_err(|e| error(ErrorCode::Internal, format!("The demo server could not start: {e}")))?;
            let tenants =
                TenantProfile::new(DEMO_APPLICATION, TENANT_HOST_PATTERN, &server.tenant_issuer_template())
                    .map_err(|e| error(ErrorCode::Internal, format!("The demo's tenant profile is invalid: {e}")))?;
            let self_signed = match LookupServer::start(loopback, Scenario { tls: true, ..self.scenario.clone() }).await
            {
                Ok(self_signed) => self_signed,
                Err(e) => {
                    server.shutdown().await;
                    return Err(error(ErrorCode::Internal, format!("The demo's https server could not start: {e}")));
                }
            };
            *running = Some(Running { server, self_signed, tenants });
        }
        let Some(running) = running.as_ref() else {
            return Err(error(ErrorCode::Internal, "The demo server is not running."));
        };
        Ok(describe(&running.server, &running.self_signed))
    }

    /// The tenant profiles a wizard needs while the demo runs (none otherwise).
    pub async fn tenant_profiles(&self) -> Vec<TenantProfile> {
        self.running.lock().await.as_ref().map(|running| vec![running.tenants.clone()]).unwrap_or_default()
    }

    pub async fn stop(&self) {
        if let Some(running) = self.running.lock().await.take() {
            running.server.shutdown().await;
            running.self_signed.shutdown().await;
        }
    }
}

fn describe(server: &LookupServer, self_signed: &LookupServer) -> DemoInfo {
    let subscribed = server.subscribed_tenants();
    DemoInfo {
        central_url: server.central_url().to_string(),
        people: server
            .demo_people()
            .into_iter()
            .map(|person| DemoPerson {
                login: person.login.to_owned(),
                display_name: person.display_name.to_owned(),
                instance_url: person.instance_url,
            })
            .collect(),
        // The demo file's password, else the built-in one.
        password: server.description().password.to_owned(),
        ocis_url: server.ocis_url().to_string(),
        idp_url: server.idp_issuer(),
        oidc_people: server
            .oidc_people()
            .into_iter()
            .map(|person| DemoOidcPerson {
                login: person.login.to_owned(),
                password: person.password.to_owned(),
                display_name: person.display_name.to_owned(),
                instances: person
                    .ocis_instances
                    .iter()
                    .map(|name| DemoInstance {
                        name: (*name).to_owned(),
                        url: server.ocis_instance_urls().get(*name).map(ToString::to_string).unwrap_or_default(),
                    })
                    .collect(),
                disabled: person.disabled_at_ocis,
            })
            .collect(),
        tenants: server
            .tenant_urls()
            .iter()
            .map(|(name, url)| DemoTenant {
                name: name.clone(),
                url: url.to_string(),
                subscribed: subscribed.contains(&name.as_str()),
            })
            .collect(),
        matrix: describe_matrix(server),
        nextcloud: describe_nextcloud(server),
        self_signed: DemoSelfSigned {
            central_url: self_signed.central_url().to_string(),
            sha256: self_signed.description().tls_certificate_sha256.unwrap_or_default(),
        },
    }
}

fn describe_matrix(server: &LookupServer) -> DemoMatrix {
    let portals: Vec<DemoPortal> =
        [(PortalMode::Proxy, server.matrix_portal_url()), (PortalMode::Redirect, server.matrix_portal_307_url())]
            .into_iter()
            .map(|(mode, url)| DemoPortal {
                mode,
                url: url.to_string(),
                server_name: server_name(url.host_str(), url.port()),
            })
            .collect();
    DemoMatrix {
        homeservers: server
            .matrix_homeserver_urls()
            .iter()
            .map(|(name, url)| DemoInstance { name: name.clone(), url: url.to_string() })
            .collect(),
        people: server
            .matrix_people()
            .into_iter()
            .filter(|person| !person.oauth)
            .map(|person| DemoMatrixPerson {
                addresses: portals
                    .iter()
                    .map(|portal| format!("@{}:{}", person.localpart, portal.server_name))
                    .collect(),
                localpart: person.localpart.to_owned(),
                password: person.password.to_owned(),
                display_name: person.display_name.to_owned(),
                homeserver: person.homeserver.to_owned(),
                user_id: person.user_id,
                deactivated: person.deactivated,
                rate_limited: person.rate_limited,
            })
            .collect(),
        portals,
        oauth: DemoMatrixOAuth {
            url: server.matrix_oauth_homeserver_url().to_string(),
            server_name: server.matrix_oauth_server_name(),
            issuer: server.matrix_oauth_issuer(),
            people: server
                .matrix_people()
                .into_iter()
                .filter(|person| person.oauth)
                .map(|person| DemoMatrixOAuthPerson {
                    user_id: person.user_id,
                    login: person.localpart.to_owned(),
                    password: person.password.to_owned(),
                    display_name: person.display_name.to_owned(),
                })
                .collect(),
        },
    }
}

fn describe_nextcloud(server: &LookupServer) -> DemoNextcloud {
    DemoNextcloud {
        gss_url: server.nextcloud_gss_url().to_string(),
        nodes: server
            .nextcloud_node_urls()
            .iter()
            .map(|(name, url)| DemoInstance { name: name.clone(), url: url.to_string() })
            .collect(),
        people: server
            .nextcloud_people()
            .into_iter()
            .map(|person| DemoNextcloudPerson {
                login: person.login.to_owned(),
                password: person.password.to_owned(),
                display_name: person.display_name.to_owned(),
                node: person.node.to_owned(),
                node_url: person.node_url,
            })
            .collect(),
    }
}

/// A Matrix server name: a URL's host and port (`proxy.localhost:41245`).
fn server_name(host: Option<&str>, port: Option<u16>) -> String {
    match (host, port) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (host, _) => host.unwrap_or_default().to_owned(),
    }
}
