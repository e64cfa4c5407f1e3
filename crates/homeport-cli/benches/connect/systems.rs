//! Round trips, wall time and connection set-ups per system, the engine's wizard against the
//! lookup server in this process with `latency` per response (docs/benchmarks.md#round-trips).
//! Decisions are answered as a script would (approve the redirect, choose the instance); a
//! browser login is the lookup server's robot, whose requests wait the latency too.

use std::time::{Duration, Instant};

use homeport_engine::tenant::TenantProfile;
use homeport_engine::wizard::LoginFlowTiming;
use homeport_engine::{Credentials, Decision, HttpConfig, Secret, Step, Wizard, WizardOptions};
use homeport_lookup::{ConnectionsUsed, LookupServer, Scenario, TENANT_HOST_PATTERN};

/// Something of the running lookup server: an address, a password.
type Of = fn(&LookupServer) -> String;

/// One system of the table: how to start it, and how a script answers it.
struct System {
    name: &'static str,
    address: Of,
    /// Credentials given up front (`None`: the login form asks, as in the desktop).
    up_front: Option<(&'static str, Of)>,
    /// The person's answers: the browser login's user and password, the instance to choose.
    browser: Option<(&'static str, &'static str)>,
    choose: Option<&'static str>,
    tenant: bool,
    /// Measured over TLS too: the lookup server serves the system over https, and the wizard
    /// reaches it so (a Matrix ID's server name is tried over http on loopback, and the browser
    /// robot trusts no self-signed certificate).
    over_tls: bool,
}

fn ocis(server: &LookupServer) -> String {
    server.ocis_url().to_string()
}

const SYSTEMS: &[System] = &[
    System {
        name: "S0 ownCloud, credentials up front (CLI)",
        address: |s| s.central_url().to_string(),
        up_front: Some(("test@instance2.com", |_| "secret".into())),
        browser: None,
        choose: None,
        tenant: false,
        over_tls: true,
    },
    System {
        name: "S0 ownCloud, the login form (desktop)",
        address: |s| s.central_url().to_string(),
        up_front: None,
        browser: None,
        choose: None,
        tenant: false,
        over_tls: true,
    },
    System {
        name: "S1 Matrix proxy portal, alice@portal",
        address: |s| {
            let portal = s.matrix_portal_url();
            format!("alice@{}:{}", portal.host_str().unwrap_or_default(), portal.port().unwrap_or_default())
        },
        up_front: Some(("alice", |s| matrix_password(s, "alice"))),
        browser: None,
        choose: None,
        tenant: false,
        over_tls: false,
    },
    System {
        name: "S2 oCIS, OpenID Connect, an instance chosen",
        address: ocis,
        up_front: None,
        browser: Some(("marie", "radioactivity")),
        choose: Some("B"),
        tenant: false,
        over_tls: false,
    },
    System {
        name: "S3 tenant by host",
        address: |s| s.tenant_urls()["tenant1"].to_string(),
        up_front: None,
        browser: Some(("einstein", "relativity")),
        choose: None,
        tenant: true,
        over_tls: false,
    },
    System {
        name: "Matrix OAuth 2.0 API, @einstein:server",
        address: |s| format!("@einstein:{}", s.matrix_oauth_server_name()),
        up_front: None,
        browser: Some(("einstein", "relativity")),
        choose: None,
        tenant: false,
        over_tls: false,
    },
    System {
        name: "Nextcloud Global Scale, password up front",
        address: |s| s.nextcloud_gss_url().to_string(),
        up_front: Some(("alice", |s| nextcloud_password(s, "alice"))),
        browser: None,
        choose: None,
        tenant: false,
        over_tls: true,
    },
];

fn matrix_password(server: &LookupServer, localpart: &str) -> String {
    let person = server.matrix_people().into_iter().find(|p| p.localpart == localpart);
    person.map(|p| p.password.to_owned()).unwrap_or_default()
}

fn nextcloud_password(server: &LookupServer, login: &str) -> String {
    let person = server.nextcloud_people().into_iter().find(|p| p.login == login);
    person.map(|p| p.password.to_owned()).unwrap_or_default()
}

/// What one run of a system measured.
pub struct Measured {
    pub name: &'static str,
    pub round_trips: u32,
    /// Round trips after the person submitted the login form (the desktop's S0), if it asked.
    pub after_login: Option<u32>,
    pub wall: Duration,
    pub requests: usize,
    /// TCP connections the lookup server accepted (the robot's and a portal's own included).
    pub connections: u64,
    /// Per listener: connections accepted, and those that carried requests over HTTP/1.1 and HTTP/2.
    pub per_origin: Vec<(String, u64, ConnectionsUsed)>,
}

async fn run(system: &System, latency: Duration, tls: bool) -> Result<Measured, String> {
    let server = homeport_lookup::testing::start(Scenario { latency, tls, ..Scenario::default() }).await;
    let http =
        HttpConfig { extra_root_certificates: server.certificate_der().into_iter().collect(), ..HttpConfig::default() };
    let mut options = WizardOptions { http, ..WizardOptions::default() };
    options.login_flow = LoginFlowTiming { interval: Duration::from_millis(50), ..options.login_flow };
    if system.tenant {
        let profile = TenantProfile::new("homeport-demo", TENANT_HOST_PATTERN, &server.tenant_issuer_template())
            .map_err(|e| e.to_string())?;
        options.tenant_profiles = vec![profile];
    }
    let address = (system.address)(&server);
    let started = Instant::now();
    let mut wizard = Wizard::new(&address, options).map_err(|e| e.to_string())?;
    if let Some((user, password)) = system.up_front {
        wizard.set_credentials(Credentials::new(user, Secret::new(password(&server))));
    }
    let mut after_login = None;
    let mut step = wizard.next().await.map_err(|e| format!("{address}: {e}"))?;
    let connected = loop {
        step = match step {
            Step::Connected(connected) => break connected,
            Step::Decide(Decision::ConfirmRedirect { to, .. }) => {
                wizard.approve_origin(to);
                wizard.next().await
            }
            Step::Decide(Decision::NeedsCredentials { .. }) => {
                after_login = Some(wizard.trace().round_trips());
                wizard.set_credentials(Credentials::new("test@instance2.com", Secret::new("secret")));
                wizard.next().await
            }
            Step::Decide(Decision::ChooseInstance { instances }) => {
                let wanted = &server.ocis_instance_urls()[system.choose.unwrap_or("A")];
                let chosen = instances.iter().find(|i| i.url.as_url() == wanted).ok_or("instance not offered")?;
                wizard.choose_instance(chosen.url.clone());
                wizard.next().await
            }
            Step::Decide(Decision::OpenBrowser { url, .. }) => {
                let (user, password) = system.browser.ok_or("a browser login nobody answers")?;
                let url = url::Url::parse(&url).map_err(|e| e.to_string())?;
                homeport_lookup::while_browser_logs_in(wizard.next(), &url, user, password)
                    .await
                    .map_err(|e| e.to_string())?
                    .outcome
            }
            Step::Decide(other) => return Err(format!("{}: unexpected decision {other:?}", system.name)),
        }
        .map_err(|e| format!("{}: {e}", system.name))?;
    };
    let wall = started.elapsed();
    let measured = Measured {
        name: system.name,
        round_trips: connected.round_trips,
        after_login: after_login.map(|before| connected.round_trips - before),
        wall,
        requests: connected.trace.len(),
        connections: server.connections().values().sum(),
        per_origin: {
            let used = server.connections_used();
            server
                .connections()
                .into_iter()
                .map(|(listener, accepted)| {
                    let used = used.get(&listener).copied().unwrap_or_default();
                    (listener, accepted, used)
                })
                .collect()
        },
    };
    server.shutdown().await;
    Ok(measured)
}

/// Every system once per run, `runs` times, over plain http and over TLS (where the lookup server
/// offers HTTP/2); the median wall time of each, and per listener the connections of that run.
pub fn table(latency: Duration, runs: usize) -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    // Why a run first: the first wizard of a process loads the system's trusted roots.
    runtime.block_on(run(&SYSTEMS[0], Duration::ZERO, false))?;
    for tls in [false, true] {
        println!(
            "\nper system, in process, {}, {} ms latency per response, median of {runs} runs (wall time includes \
             the browser robot's requests)",
            if tls { "https (HTTP/2 offered)" } else { "plain http (HTTP/1.1)" },
            latency.as_millis()
        );
        println!(
            "{:<46} {:>18} {:>10} {:>9} {:>12}  per listener: accepted → used (protocol)",
            "system", "round trips", "wall (ms)", "requests", "connections"
        );
        for system in SYSTEMS {
            if tls && !system.over_tls {
                continue;
            }
            let mut runs_of: Vec<Measured> = Vec::new();
            for _ in 0..runs {
                runs_of.push(runtime.block_on(run(system, latency, tls))?);
            }
            runs_of.sort_by_key(|m| m.wall);
            let median = &runs_of[runs_of.len() / 2];
            let rounds = match median.after_login {
                Some(after) => format!("{} ({after} after login)", median.round_trips),
                None => median.round_trips.to_string(),
            };
            println!(
                "{:<46} {:>18} {:>10.0} {:>9} {:>12}  {}",
                median.name,
                rounds,
                median.wall.as_secs_f64() * 1000.0,
                median.requests,
                median.connections,
                per_origin(&median.per_origin)
            );
        }
    }
    Ok(())
}

/// `central 4→1 h2, instance2 4→4 h1`: per listener, the connections accepted and those used.
fn per_origin(listeners: &[(String, u64, ConnectionsUsed)]) -> String {
    let shown: Vec<String> = listeners
        .iter()
        .map(|(listener, accepted, used)| {
            let mut protocols = Vec::new();
            if used.http1 > 0 {
                protocols.push(format!("{} h1", used.http1));
            }
            if used.http2 > 0 {
                protocols.push(format!("{} h2", used.http2));
            }
            let protocols = if protocols.is_empty() { "none used".to_owned() } else { protocols.join(" + ") };
            format!("{listener} {accepted}→{protocols}")
        })
        .collect();
    shown.join(", ")
}
