//! From a scenario as written to what is played: the lookup server's settings, the answers to every
//! decision and the expectations, with each `${…}` replaced from the lookup server's description and
//! each secret read from the environment. Every problem is collected, each at its key's line and
//! column: the check before anything plays reports them all (docs/scenarios.md).

use std::path::Path;
use std::time::Duration;

use homeport_engine::client_certificate::ClientIdentity;
use homeport_engine::loopback::{RedirectPort, RedirectSpec};
use homeport_engine::oidc_client::ClientProfile;
use homeport_engine::tenant::TenantProfile;
use homeport_engine::{Address, Credentials, Origin, Secret};
use homeport_lookup::{Fault, IdpSetup, PublicClient};

use crate::expect::Expectations;
use crate::file::{expand, BrowserAnswer, Problems, Scenario, ScenarioError};

/// The answers to every decision, with `${…}` resolved and the password read.
#[derive(Clone, Debug, Default)]
pub struct Answers {
    pub address: String,
    pub credentials: Option<Credentials>,
    pub approve: Vec<Origin>,
    pub allow_plain_http: bool,
    pub browser: Option<BrowserAnswer>,
    pub instance: Option<String>,
    pub tenant_profiles: Vec<TenantProfile>,
    /// The user meant, without a password (a browser login's hint).
    pub login_hint: Option<String>,
    /// The OpenID Connect client the file names, if any.
    pub oidc_client: Option<ClientProfile>,
    pub approve_issuer: Vec<Origin>,
    pub continue_as: Option<String>,
    /// `client_cert` (an absolute path) and its password: the answer when a server asks.
    pub client_certificate: Option<(String, Secret)>,
}

/// The lookup server the scenario's `[lookup]` asks for (`None`: a `[target]`).
pub(crate) fn lookup_scenario(scenario: &Scenario) -> Result<Option<homeport_lookup::Scenario>, Problems> {
    let Some(settings) = &scenario.lookup else { return Ok(None) };
    let mut problems = Vec::new();
    let mut lookup = homeport_lookup::Scenario::default();
    if let Some(fault) = &settings.fault {
        match fault.parse::<Fault>() {
            Ok(fault) => lookup.fault = Some(fault),
            Err(e) => problems.push(scenario.problem_at("lookup.fault", e.to_string())),
        }
    }
    if let Some(status) = settings.redirect_status {
        lookup.redirect_status = status;
    }
    if let Some(latency) = settings.latency_ms {
        lookup.latency = Duration::from_millis(latency);
    }
    if let Some(lifetime) = settings.token_lifetime_secs {
        lookup.token_lifetime = Duration::from_secs(lifetime);
    }
    lookup.path_instances = settings.path_instances;
    lookup.tls = settings.tls;
    if let Some(issuer) = &settings.oidc_issuer {
        // Before the lookup server starts, only the environment can fill a placeholder.
        match expand(issuer, &serde_json::Value::Null) {
            Ok(issuer) => match url::Url::parse(&issuer) {
                Ok(url) => lookup.oidc_issuer = Some(url),
                Err(e) => problems.push(
                    scenario
                        .problem_at("lookup.oidc_issuer", format!("lookup.oidc_issuer {issuer:?} is not a URL: {e}")),
                ),
            },
            Err(e) => problems.push(scenario.problem_within(
                "lookup.oidc_issuer",
                &e.placeholder,
                format!(
                    "lookup.oidc_issuer: {e} (only ${{env:NAME}} works here: the lookup server has not started yet)"
                ),
            )),
        }
    }
    lookup.idp = IdpSetup {
        registration: settings.idp_registration,
        public_client: match (settings.idp_realm_redirect_port, settings.idp_public_client) {
            (Some(redirect_port), _) => Some(PublicClient::Realm { redirect_port }),
            (None, true) => Some(PublicClient::AnyPort),
            (None, false) => None,
        },
    };
    if let Err(e) = lookup.check() {
        problems.push(scenario.problem_at("lookup", e.to_string()));
    }
    match problems.is_empty() {
        true => Ok(Some(lookup)),
        false => Err(Problems(problems)),
    }
}

/// The answers and expectations of `scenario`, its `${…}` filled from `description` (the lookup
/// server's; `None` for a `[target]`, whose values are taken as written), and the client
/// certificate it presents, loaded.
pub(crate) fn answers(
    scenario: &Scenario,
    description: Option<&serde_json::Value>,
) -> Result<(Answers, Expectations, Option<ClientIdentity>), Problems> {
    let mut r = Resolver { scenario, description, problems: Vec::new() };
    let connect = &scenario.connect;
    let address = r.text("connect.address", &connect.address);
    let password = match (&connect.password, &connect.password_env) {
        (Some(password), _) => Some(Secret::new(password.clone())),
        (None, Some(variable)) => r.env("connect.password_env", variable, "the password"),
        (None, None) => None,
    };
    // An address that names the user (`alice@host`, `@alice:server`) needs no `user`: the
    // engine's one rule, as `homeport connect` reads it.
    let user = match &connect.user {
        Some(user) => Some(r.text("connect.user", user)),
        None => Address::parse(&address).ok().and_then(|address| address.user()),
    };
    let system_browser = connect.browser == Some(BrowserAnswer::System);
    let (credentials, login_hint) = match (user, password) {
        (Some(user), Some(password)) => (Some(Credentials::new(user, password)), None),
        // In the system browser the person types the password there: the user is the hint.
        (Some(user), None) if system_browser => (None, Some(user)),
        (None, None) => (None, None),
        (None, Some(_)) => {
            let key = if connect.password.is_some() { "connect.password" } else { "connect.password_env" };
            r.refuse(
                key,
                "a password needs connect.user, or an address that names the user (alice@host, @alice:server)",
            );
            (None, None)
        }
        (Some(_), None) => {
            r.refuse(
                "connect.user",
                "connect.user and a password go together (password or password_env), unless browser = \"system\"",
            );
            (None, None)
        }
    };
    let client_secret =
        connect.client_secret_env.as_ref().and_then(|v| r.env("connect.client_secret_env", v, "the client secret"));
    let redirect_port = connect.redirect_port.as_ref().map(|port| port.as_text()).and_then(|text| {
        let resolved = r.text("connect.redirect_port", &text);
        match resolved.parse::<RedirectPort>() {
            Ok(port) => Some(port),
            Err(e) => {
                r.refuse("connect.redirect_port", &format!("redirect_port {text:?}: {e}"));
                None
            }
        }
    });
    let redirect = (redirect_port.is_some() || connect.redirect_host.is_some()).then(|| RedirectSpec {
        host: connect.redirect_host.unwrap_or_default(),
        port: redirect_port.unwrap_or_default(),
    });
    let oidc_client = ClientProfile {
        issuer: None,
        client_id: r.optional("connect.client_id", connect.client_id.as_deref()),
        client_secret,
        token_auth: connect.token_auth,
        scopes: connect.scopes.clone(),
        prompt: connect.prompt.clone(),
        redirect,
    };
    let oidc_client = (oidc_client != ClientProfile::default()).then_some(oidc_client);
    let approve_issuer = r.origins("connect.approve_issuer", &connect.approve_issuer);
    let approve = r.origins("connect.approve_redirect", &connect.approve_redirect);
    let tenant_profiles = match (&connect.tenant_pattern, &connect.tenant_issuer) {
        (Some(pattern), Some(issuer)) => {
            let (pattern, issuer) =
                (r.text("connect.tenant_pattern", pattern), r.text("connect.tenant_issuer", issuer));
            match TenantProfile::new("scenario", &pattern, &issuer) {
                Ok(profile) => vec![profile],
                Err(e) => {
                    r.refuse("connect.tenant_pattern", &format!("tenant profile: {e}"));
                    Vec::new()
                }
            }
        }
        _ => Vec::new(),
    };
    let client_certificate = match (&connect.client_cert, &connect.client_cert_password_env) {
        (Some(file), Some(variable)) => {
            let password = r.env("connect.client_cert_password_env", variable, "the client certificate's password");
            let file = r.text("connect.client_cert", file);
            let folder = scenario.path.parent().unwrap_or(Path::new("."));
            password.map(|password| (folder.join(file).display().to_string(), password))
        }
        _ => None,
    };
    let client_identity = client_certificate.as_ref().and_then(|(file, password)| {
        ClientIdentity::load(Path::new(file), password)
            .map_err(|e| r.refuse("connect.client_cert", &format!("client_cert: {e}")))
            .ok()
    });
    let answers = Answers {
        address,
        credentials,
        approve,
        allow_plain_http: connect.allow_plain_http,
        browser: connect.browser,
        instance: r.optional("connect.instance", connect.instance.as_deref()),
        tenant_profiles,
        login_hint,
        oidc_client,
        approve_issuer,
        continue_as: r.optional("connect.continue_as", connect.continue_as.as_deref()),
        client_certificate,
    };
    let expect = &scenario.expect;
    let expect = Expectations {
        status: expect.status,
        error_code: expect.error_code.clone(),
        error_contains: expect.error_contains.clone(),
        instance: r.optional("expect.instance", expect.instance.as_deref()),
        user_id: r.optional("expect.user_id", expect.user_id.as_deref()),
        kind: expect.kind.clone(),
        display_name: r.optional("expect.display_name", expect.display_name.as_deref()),
        max_round_trips: expect.max_round_trips,
        max_duration: expect.max_duration_ms.map(Duration::from_millis),
        no_credentials_to: r.origins("expect.no_credentials_to", &expect.no_credentials_to),
        requests_to: expect
            .requests_to
            .iter()
            .filter_map(|(origin, count)| {
                let key = format!("expect.requests_to.{origin}");
                let resolved = r.text(&key, origin);
                match Origin::parse(&resolved) {
                    Ok(parsed) => Some((parsed, *count)),
                    Err(_) if resolved.is_empty() => None,
                    Err(e) => {
                        r.refuse(&key, &format!("requests_to {resolved:?}: {e}"));
                        None
                    }
                }
            })
            .collect(),
    };
    match r.problems.is_empty() {
        true => Ok((answers, expect, client_identity)),
        false => Err(Problems(r.problems)),
    }
}

/// Fills placeholders and reads the environment, keeping every problem.
struct Resolver<'a> {
    scenario: &'a Scenario,
    description: Option<&'a serde_json::Value>,
    problems: Vec<ScenarioError>,
}

impl Resolver<'_> {
    /// `text` (the value of `key`) with its `${…}` filled; a problem names the placeholder's line and column.
    fn text(&mut self, key: &str, text: &str) -> String {
        let Some(description) = self.description else { return text.to_owned() };
        match expand(text, description) {
            Ok(expanded) => expanded,
            Err(e) => {
                self.problems.push(self.scenario.problem_within(key, &e.placeholder, e.message));
                String::new()
            }
        }
    }

    fn optional(&mut self, key: &str, text: Option<&str>) -> Option<String> {
        text.map(|text| self.text(key, text))
    }

    fn origins(&mut self, key: &str, texts: &[String]) -> Vec<Origin> {
        let mut origins = Vec::new();
        for (index, text) in texts.iter().enumerate() {
            let item = format!("{key}.{index}");
            let origin = self.text(&item, text);
            match Origin::parse(&origin) {
                Ok(origin) => origins.push(origin),
                // An unfilled placeholder is reported already.
                Err(_) if origin.is_empty() => {}
                Err(e) => self.refuse(&item, &format!("{} {origin:?}: {e}", key.rsplit('.').next().unwrap_or(key))),
            }
        }
        origins
    }

    /// The secret in the environment variable `variable` (named by `key`).
    fn env(&mut self, key: &str, variable: &str, what: &str) -> Option<Secret> {
        match std::env::var(variable) {
            Ok(value) => Some(Secret::new(value)),
            Err(_) => {
                self.refuse(key, &format!("{what} is to come from ${variable}, which is not set"));
                None
            }
        }
    }

    fn refuse(&mut self, key: &str, message: &str) {
        self.problems.push(self.scenario.problem_at(key, message));
    }
}
