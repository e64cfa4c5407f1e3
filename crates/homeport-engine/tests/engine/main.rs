//! The engine against the real lookup server over loopback sockets, and the account store against
//! the real Secret Service (the README test command starts gnome-keyring under dbus-run-session).

mod callback;
mod certificates;
mod client_certificates;
mod fuzzed;
mod hostile;
mod matrix;
mod matrix_oauth;
mod nextcloud;
mod oidc;
mod plain_http;
mod properties;
mod rounds;
mod store;
mod store_hygiene;
mod wizard;

use homeport_engine::{ConnectError, Connected, Credentials, HttpConfig, Origin, Secret, Step, Wizard, WizardOptions};
use homeport_lookup::{LookupServer, Scenario};

pub const PASSWORD: &str = "secret";

pub async fn lookup(scenario: Scenario) -> LookupServer {
    homeport_lookup::testing::start(scenario).await
}

/// Wizard options that trust the lookup server's self-signed certificate, if it has one.
pub fn options(server: &LookupServer) -> WizardOptions {
    let http =
        HttpConfig { extra_root_certificates: server.certificate_der().into_iter().collect(), ..HttpConfig::default() };
    WizardOptions { http, ..WizardOptions::default() }
}

pub fn instance_origin(server: &LookupServer, name: &str) -> Origin {
    Origin::of(server.instance_urls().get(name).expect("the lookup server serves this instance"))
}

/// Connects like a script would: credentials and approvals up front, any decision left is declined.
pub async fn connect(
    server: &LookupServer,
    user: &str,
    password: &str,
    approve: &[&str],
) -> Result<Box<Connected>, ConnectError> {
    let mut wizard = Wizard::new(server.central_url().as_str(), options(server))?;
    wizard.set_credentials(Credentials::new(user, Secret::new(password)));
    for name in approve {
        wizard.approve_origin(instance_origin(server, name));
    }
    match wizard.next().await? {
        Step::Connected(connected) => Ok(connected),
        Step::Decide(decision) => Err(decision.declined()),
    }
}
