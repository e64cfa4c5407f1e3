//! Demo mode: the embedded lookup server, started inside the app on loopback.

use std::net::{Ipv4Addr, SocketAddr};

use homeport_engine::{ErrorCode, ErrorReport};
use homeport_lookup::{LookupServer, Scenario, DEMO_PASSWORD};

use crate::ipc::{error, DemoInfo, DemoPerson};

#[derive(Default)]
pub struct Demo {
    server: tokio::sync::Mutex<Option<LookupServer>>,
}

impl Demo {
    /// Starts the lookup server (or returns the one already running).
    pub async fn start(&self) -> Result<DemoInfo, ErrorReport> {
        let mut server = self.server.lock().await;
        if server.is_none() {
            let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
            let started = LookupServer::start(loopback, Scenario::default())
                .await
                .map_err(|e| error(ErrorCode::Internal, format!("The demo server could not start: {e}")))?;
            *server = Some(started);
        }
        let Some(running) = server.as_ref() else {
            return Err(error(ErrorCode::Internal, "The demo server is not running."));
        };
        Ok(DemoInfo {
            central_url: running.central_url().to_string(),
            people: running
                .demo_people()
                .into_iter()
                .map(|person| DemoPerson {
                    login: person.login.to_owned(),
                    display_name: person.display_name.to_owned(),
                    instance_url: person.instance_url,
                })
                .collect(),
            password: DEMO_PASSWORD.to_owned(),
        })
    }

    pub async fn stop(&self) {
        if let Some(server) = self.server.lock().await.take() {
            server.shutdown().await;
        }
    }
}
