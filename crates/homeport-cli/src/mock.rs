//! `homeport mock`: the embedded lookup server as a process. Prints one JSON line with its URLs
//! before it answers requests, runs until SIGINT/SIGTERM.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use clap::builder::TypedValueParser as _;
use clap::Args;
use homeport_lookup::{Demo, Fault, IdpSetup, LookupServer, PublicClient, Scenario};

use crate::output::{Done, Failure};

#[derive(Args)]
pub struct MockArgs {
    /// A demo file (TOML): the customer's own people (ownCloud, identity provider, Matrix, Nextcloud),
    /// ownCloud and oCIS instances, tenants, product names, faults and settings (docs/scenarios.md,
    /// docs/examples/); `demo` is the built-in demo. The flags below, given beside it, win.
    #[arg(long, value_name = "FILE|demo")]
    scenario: Option<std::path::PathBuf>,
    /// Address of the central server; the instances take free ports on the same IP.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Delay added to every response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Status of the central server's redirect: 301, 302, 307 or 308.
    #[arg(long, default_value_t = 301, value_parser = clap::builder::PossibleValuesParser::new(["301", "302", "307", "308"]).map(|s: String| s.parse::<u16>().unwrap_or(301)))]
    redirect_status: u16,
    /// Serve the instances under paths of the central origin (<central>/instance1/…), like the
    /// seed's example deployment; then `curl -L -u user:pw <central>/remote.php/webdav/` works.
    #[arg(long)]
    path_instances: bool,
    /// Put the oCIS server in front of this OpenID Provider (on this machine, e.g. one a test
    /// started): its WebFinger names this issuer, and it and its instances accept the issuer's
    /// access tokens, checked at the issuer's userinfo endpoint as oCIS's proxy does.
    #[arg(long, value_name = "URL")]
    oidc_issuer: Option<url::Url>,
    /// Serve https with a generated self-signed certificate.
    #[arg(long)]
    tls: bool,
    /// Inject a fault: maintenance, needs-db-upgrade, not-installed, redirect-loop, redirect-to-plain-http,
    /// idp-issuer-mismatch, idp-bad-signature, expired-access-token, matrix-bad-base-url,
    /// server-error, redirect-to-other-origin, oversized-body, malformed-json, malformed-xml,
    /// html-instead-of-json, slow-body, connection-reset, webfinger-no-instances, webfinger-many-instances,
    /// revoked-refresh-token, nextcloud-flow-expired, nextcloud-node-down, nextcloud-poll-error,
    /// matrix-oauth-registration-refused, matrix-oauth-token-refused, matrix-oauth-whoami-mismatch.
    #[arg(long)]
    fault: Option<Fault>,
    /// How long the IdP's access tokens live, in seconds (short ones make expiry and refresh visible).
    #[arg(long, default_value_t = homeport_lookup::DEFAULT_TOKEN_LIFETIME.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    token_lifetime_secs: u64,
    /// The IdP offers dynamic client registration (RFC 7591). By default it acts out oCIS's built-in IdP: no
    /// registration, and the ownCloud desktop client (with its secret) as its only client.
    #[arg(long)]
    idp_registration: bool,
    /// The IdP also knows a public client `homeport` (no secret, any loopback port and path).
    #[arg(long, conflicts_with = "idp_realm_redirect_port")]
    idp_public_client: bool,
    /// The IdP is a Keycloak-style realm: its only client is the public `homeport`, registered with the redirect
    /// URI http://127.0.0.1:PORT/* (connect with `--client-id homeport --redirect-port PORT`).
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    idp_realm_redirect_port: Option<u16>,
}

pub async fn run(args: MockArgs) -> Result<Done, Failure> {
    if !args.listen.ip().is_loopback() {
        eprintln!(
            "warning: serving on {}, reachable from other machines; the demo users have a known password",
            args.listen
        );
    }
    let base = match args.scenario.as_deref() {
        None => Scenario::default(),
        Some(path) if path.as_os_str() == "demo" => Scenario::default(),
        Some(path) => {
            let demo = Demo::load(path).map_err(|e| Failure::bad_input(e.to_string()))?;
            demo.scenario
        }
    };
    let defaults = Scenario::default();
    // A flag given beside the file wins; a flag at its default leaves the file's setting.
    let scenario = Scenario {
        redirect_status: if args.redirect_status != defaults.redirect_status {
            args.redirect_status
        } else {
            base.redirect_status
        },
        latency: if args.latency_ms != 0 { Duration::from_millis(args.latency_ms) } else { base.latency },
        path_instances: args.path_instances || base.path_instances,
        oidc_issuer: args.oidc_issuer.or(base.oidc_issuer),
        tls: args.tls || base.tls,
        fault: args.fault.or(base.fault),
        token_lifetime: match Duration::from_secs(args.token_lifetime_secs) {
            flag if flag != defaults.token_lifetime => flag,
            _ => base.token_lifetime,
        },
        idp: IdpSetup {
            registration: args.idp_registration || base.idp.registration,
            public_client: match (args.idp_realm_redirect_port, args.idp_public_client) {
                (Some(redirect_port), _) => Some(PublicClient::Realm { redirect_port }),
                (None, true) => Some(PublicClient::AnyPort),
                (None, false) => base.idp.public_client,
            },
        },
        people: base.people,
    };
    let server = LookupServer::start(args.listen, scenario)
        .await
        .map_err(|e| Failure::bad_input(format!("the lookup server could not start: {e}")))?;
    let mut stdout = std::io::stdout();
    // The one line a script waits for: written and flushed before we wait for signals (the
    // listeners already accept connections).
    let _ = writeln!(stdout, "{}", server.description());
    let _ = stdout.flush();
    wait_for_stop_signal().await;
    server.shutdown().await;
    Ok(Done::nothing())
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
