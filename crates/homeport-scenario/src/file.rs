//! The scenario file: a small TOML document a QA engineer writes by hand.
//!
//! ```toml
//! name = "test@instance2.com reaches instance2"
//!
//! [lookup]                      # the embedded lookup server (or [target] url = "https://…")
//! fault = "maintenance"         # optional; also redirect_status, latency_ms, token_lifetime_secs,
//!                               # path_instances, tls, oidc_issuer = "${env:HOMEPORT_ISSUER}",
//!                               # idp_registration, idp_public_client, idp_realm_redirect_port
//!
//! [connect]
//! address = "${central}"        # ${…} names a URL the lookup server prints (`homeport mock`)
//! user = "test@instance2.com"
//! password_env = "HOMEPORT_PASSWORD"   # or password = "secret" (lookup-server targets only)
//! approve_redirect = ["${origin:instances.instance2}"]
//! # client_cert = "alice.p12"         # a PKCS#12 client certificate (mutual TLS), relative to this file
//! # client_cert_password_env = "HOMEPORT_CLIENT_CERT_PASSWORD"
//!
//! [expect]
//! status = "connected"          # or "failed" with error_code = "policy_refused"
//! instance = "${instances.instance2}"
//! max_round_trips = 3
//! ```
//!
//! Unknown keys and wrong types are errors that name the file, the line and the key.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::locate::{line_and_column, Locations};

/// Why a scenario file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    #[error("{path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// `file:line:column: message`, the message naming the key.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid { path: PathBuf, line: usize, column: usize, message: String },
    /// A setting that cannot be acted out and has no place in the file (the lookup server did not start).
    #[error("{path}: {message}")]
    Unusable { path: PathBuf, message: String },
}

impl ScenarioError {
    /// The file the problem is in.
    pub fn path(&self) -> &Path {
        match self {
            ScenarioError::Read { path, .. }
            | ScenarioError::Invalid { path, .. }
            | ScenarioError::Unusable { path, .. } => path,
        }
    }
}

/// Every problem of one file (at least one), each on its own line as `file:line:column: message`.
#[derive(Debug)]
pub struct Problems(pub Vec<ScenarioError>);

impl std::fmt::Display for Problems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (index, problem) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

impl From<ScenarioError> for Problems {
    fn from(error: ScenarioError) -> Self {
        Problems(vec![error])
    }
}

/// One scenario, as written.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Shown in progress lines, reports and JUnit.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The embedded lookup server and what it acts out. Exactly one of `lookup` and `target`.
    #[serde(default)]
    pub lookup: Option<LookupSettings>,
    /// A real server instead of the lookup server.
    #[serde(default)]
    pub target: Option<Target>,
    pub connect: Connect,
    #[serde(default)]
    pub expect: Expect,
    /// Where the file came from (set by [`Scenario::load`]).
    #[serde(skip)]
    pub path: PathBuf,
    /// Where each key was written, for problems found after parsing.
    #[serde(skip)]
    pub locations: Locations,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LookupSettings {
    /// One of the lookup server's faults (`homeport mock --fault`).
    #[serde(default)]
    pub fault: Option<String>,
    #[serde(default)]
    pub redirect_status: Option<u16>,
    #[serde(default)]
    pub latency_ms: Option<u64>,
    #[serde(default)]
    pub token_lifetime_secs: Option<u64>,
    #[serde(default)]
    pub path_instances: bool,
    #[serde(default)]
    pub tls: bool,
    /// oCIS in front of this OpenID Provider (`homeport mock --oidc-issuer`), on loopback; usually
    /// `${env:NAME}`, the issuer a harness started and exported.
    #[serde(default)]
    pub oidc_issuer: Option<String>,
    /// The IdP offers dynamic client registration (`homeport mock --idp-registration`; oCIS's IdP ships without).
    #[serde(default)]
    pub idp_registration: bool,
    /// The IdP also knows the public client `homeport`, any loopback port (`--idp-public-client`).
    #[serde(default)]
    pub idp_public_client: bool,
    /// The IdP is a Keycloak-style realm whose only client, the public `homeport`, may redirect to
    /// `http://127.0.0.1:<port>/*` only (`--idp-realm-redirect-port`).
    #[serde(default)]
    pub idp_realm_redirect_port: Option<u16>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The server the address is relative to; `${…}` placeholders are not available.
    pub url: String,
}

/// How the wizard is driven: the address and the answer to every decision.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Connect {
    pub address: String,
    #[serde(default)]
    pub user: Option<String>,
    /// The password, written in the file: only for lookup-server targets, whose passwords are public.
    #[serde(default)]
    pub password: Option<String>,
    /// The environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// Origins the credentials may be sent to when a server redirects there.
    #[serde(default)]
    pub approve_redirect: Vec<String>,
    /// Plain http to the typed server's origin (not to any other one it leads to).
    #[serde(default)]
    pub allow_plain_http: bool,
    /// `auto-login`: the runner logs in at the lookup server's login page with `user` and the
    /// password, like a person in the browser (loopback only). Without it a browser login fails.
    #[serde(default)]
    pub browser: Option<BrowserAnswer>,
    /// The instance to choose when the account lives on several.
    #[serde(default)]
    pub instance: Option<String>,
    /// A tenant profile: TENANT_HOST_PATTERN and the zone issuer with `{tenant}`.
    #[serde(default)]
    pub tenant_pattern: Option<String>,
    #[serde(default)]
    pub tenant_issuer: Option<String>,
    /// The bound for each exchange (default 30 s): a slow server fails the run after this long.
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// The OpenID Connect client to log in as, as the identity provider's admin registered it
    /// (docs/protocols/oidc-ocis.md#the-client); default: what the server product's desktop
    /// client uses, else a registered one.
    #[serde(default)]
    pub client_id: Option<String>,
    /// The environment variable holding that client's secret (never written in the file).
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// `client_secret_basic`, `client_secret_post` or `none`; default: from the provider.
    #[serde(default)]
    pub token_auth: Option<homeport_engine::oidc_client::TokenAuth>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// The `prompt` parameter ("" sends none); default `select_account consent`.
    #[serde(default)]
    pub prompt: Option<String>,
    /// The client's redirect port: `8080`, or a range `"8000-8010"` (a client registered for them).
    #[serde(default)]
    pub redirect_port: Option<PortSetting>,
    /// `127.0.0.1` (default) or `localhost`: the host its redirect URI was registered with.
    #[serde(default)]
    pub redirect_host: Option<homeport_engine::loopback::RedirectHost>,
    /// Identity providers on another site than the server that may log the person in.
    #[serde(default)]
    pub approve_issuer: Vec<String>,
    /// Go on when the provider logs in this user instead of `user`.
    #[serde(default)]
    pub continue_as: Option<String>,
    /// A client certificate (mutual TLS): a PKCS#12 file, relative to the scenario file, presented
    /// to the server typed and to any other server of the account that asks for one.
    #[serde(default)]
    pub client_cert: Option<String>,
    /// The environment variable holding the certificate file's password (never written in the file).
    #[serde(default)]
    pub client_cert_password_env: Option<String>,
}

/// A port as a number (`8080`) or as text (`"8080"`, `"8000-8010"`, `"${…}"`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum PortSetting {
    Number(u16),
    Text(String),
}

impl PortSetting {
    pub fn as_text(&self) -> String {
        match self {
            PortSetting::Number(port) => port.to_string(),
            PortSetting::Text(text) => text.clone(),
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum BrowserAnswer {
    /// The runner fills in the lookup server's login page itself.
    AutoLogin,
    /// The login page goes to the system browser (`$BROWSER`, else xdg-open), as a person's
    /// would; the runner waits for it to come back. `user` alone is the login hint.
    System,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ExpectedStatus {
    #[default]
    Connected,
    Failed,
}

/// What must hold at the end; every field is optional but `status`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default)]
    pub status: ExpectedStatus,
    /// The `error.code` of a failed run (`policy_refused`, `auth_failed`, …).
    #[serde(default)]
    pub error_code: Option<String>,
    /// Words the error message must contain.
    #[serde(default)]
    pub error_contains: Option<String>,
    /// The instance (homeserver) the account was verified at.
    #[serde(default)]
    pub instance: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    /// owncloud, ocis, matrix, tenant-oidc.
    #[serde(default)]
    pub kind: Option<String>,
    /// The account's display name, exactly.
    #[serde(default)]
    pub display_name: Option<String>,
    /// At most this many round trips (a scenario plays one system: its round trips).
    #[serde(default)]
    pub max_round_trips: Option<u32>,
    #[serde(default)]
    pub max_duration_ms: Option<u64>,
    /// Origins no request carrying credentials may reach (`["${origin:canary}"]`).
    #[serde(default)]
    pub no_credentials_to: Vec<String>,
    /// Exactly this many requests to each origin (`{"${origin:canary}" = 0}`).
    #[serde(default)]
    pub requests_to: std::collections::BTreeMap<String, u32>,
}

impl Scenario {
    /// Reads and checks one file; the first problem if there are several.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        Scenario::load_checked(path).map_err(|mut problems| problems.0.remove(0))
    }

    /// Reads and checks one file, with every problem the file itself shows.
    pub fn load_checked(path: &Path) -> Result<Scenario, Problems> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ScenarioError::Read { path: path.to_owned(), source })?;
        Scenario::parse_checked(path, &text)
    }

    /// Parses `text` as the scenario file `path`; the first problem if there are several.
    pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse_checked(path, text).map_err(|mut problems| problems.0.remove(0))
    }

    /// Parses `text` as the scenario file `path`: a syntax error or wrong key alone, else every
    /// contradiction between keys, each at the line and column of a key it names.
    pub fn parse_checked(path: &Path, text: &str) -> Result<Scenario, Problems> {
        let mut scenario: Scenario = toml::from_str(text).map_err(|error| {
            let (line, column) = error.span().map(|span| line_and_column(text, span.start)).unwrap_or((1, 1));
            ScenarioError::Invalid { path: path.to_owned(), line, column, message: error.message().trim().to_owned() }
        })?;
        scenario.path = path.to_owned();
        scenario.locations = Locations::of(text);
        let mut problems = Vec::new();
        let mut refuse = |key: &str, message: &str| {
            let (line, column) = scenario.locations.key(key);
            problems.push(ScenarioError::Invalid { path: path.to_owned(), line, column, message: message.to_owned() });
        };
        let connect = &scenario.connect;
        match (&scenario.lookup, &scenario.target) {
            (Some(_), Some(_)) => refuse("target", "give either [lookup] or [target], not both"),
            (None, None) => scenario.lookup = Some(LookupSettings::default()),
            _ => {}
        }
        if scenario.target.is_some() && connect.password.is_some() {
            refuse(
                "connect.password",
                "a password written in the file is only for the lookup server; use password_env for a real server",
            );
        }
        if connect.password.is_some() && connect.password_env.is_some() {
            refuse("connect.password_env", "give either password or password_env, not both");
        }
        if connect.client_secret_env.is_some() && connect.client_id.is_none() {
            refuse(
                "connect.client_secret_env",
                "client_secret_env needs client_id: a secret goes only with its client id",
            );
        }
        if connect.client_cert.is_some() != connect.client_cert_password_env.is_some() {
            let key =
                if connect.client_cert.is_some() { "connect.client_cert" } else { "connect.client_cert_password_env" };
            refuse(
                key,
                "client_cert and client_cert_password_env go together: the certificate's password comes from the environment",
            );
        }
        if connect.tenant_pattern.is_some() != connect.tenant_issuer.is_some() {
            let key = if connect.tenant_pattern.is_some() { "connect.tenant_pattern" } else { "connect.tenant_issuer" };
            refuse(key, "tenant_pattern and tenant_issuer go together");
        }
        if let Some(lookup) = &scenario.lookup {
            if lookup.idp_public_client && lookup.idp_realm_redirect_port.is_some() {
                refuse(
                    "lookup.idp_realm_redirect_port",
                    "give either idp_public_client or idp_realm_redirect_port: a realm's one client is public already",
                );
            }
            if lookup.idp_realm_redirect_port == Some(0) {
                refuse("lookup.idp_realm_redirect_port", "idp_realm_redirect_port must be a port (1-65535)");
            }
        }
        if scenario.expect.status == ExpectedStatus::Connected && scenario.expect.error_code.is_some() {
            refuse("expect.error_code", "expect.error_code needs status = \"failed\"");
        }
        if !problems.is_empty() {
            return Err(Problems(problems));
        }
        Ok(scenario)
    }

    /// Every `*.toml` file of `paths` (directories are read, sorted by name), in order.
    pub fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ScenarioError> {
        let mut files = Vec::new();
        for path in paths {
            if path.is_dir() {
                let entries =
                    std::fs::read_dir(path).map_err(|source| ScenarioError::Read { path: path.clone(), source })?;
                let mut found: Vec<PathBuf> = entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.path())
                    .filter(|file| file.extension().is_some_and(|ext| ext == "toml"))
                    .collect();
                found.sort();
                files.extend(found);
            } else {
                files.push(path.clone());
            }
        }
        Ok(files)
    }

    /// Every `*.toml` file of `paths`, loaded; the first problem if any.
    pub fn load_all(paths: &[PathBuf]) -> Result<Vec<Scenario>, ScenarioError> {
        Scenario::files(paths)?.iter().map(|file| Scenario::load(file)).collect()
    }

    /// The problem at the key `path` of this file (its line and column).
    pub(crate) fn problem_at(&self, key: &str, message: impl Into<String>) -> ScenarioError {
        let (line, column) = self.locations.key(key);
        ScenarioError::Invalid { path: self.path.clone(), line, column, message: message.into() }
    }

    /// The problem at `needle` (a `${…}`) inside the value of the key `path`.
    pub(crate) fn problem_within(&self, key: &str, needle: &str, message: impl Into<String>) -> ScenarioError {
        let (line, column) = self.locations.within(key, needle);
        ScenarioError::Invalid { path: self.path.clone(), line, column, message: message.into() }
    }
}

/// A `${…}` that cannot be filled: the placeholder as written, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unresolved {
    pub placeholder: String,
    pub message: String,
}

impl std::fmt::Display for Unresolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Replaces every `${key}` in `text` from the lookup server's description (`homeport mock`'s JSON
/// line): `${central}`, `${instances.instance2}` (dotted paths into it), `${origin:…}` (the URL's
/// origin, for `approve_redirect`) and `${authority:…}` (`host:port`, for Matrix IDs).
pub fn expand(text: &str, description: &serde_json::Value) -> Result<String, Unresolved> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(Unresolved { placeholder: "${".into(), message: format!("unclosed ${{ in {text:?}") });
        };
        let key = &after[..end];
        let value = lookup_value(key, description)
            .map_err(|message| Unresolved { placeholder: format!("${{{key}}}"), message })?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn lookup_value(key: &str, description: &serde_json::Value) -> Result<String, String> {
    let (transform, path) = match key.split_once(':') {
        Some((transform, path)) => (Some(transform), path),
        None => (None, key),
    };
    if transform == Some("env") {
        // `${env:NAME}`: what a harness exported, such as the issuer of an OpenID Provider it started.
        return std::env::var(path).map_err(|_| format!("${{{key}}}: the environment variable {path} is not set"));
    }
    let value = path
        .split('.')
        .try_fold(description, |value, part| value.get(part))
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| format!("the lookup server provides no ${{{path}}}"))?;
    match transform {
        None => Ok(value.to_owned()),
        Some("origin") => url::Url::parse(value)
            .map(|url| url.origin().ascii_serialization())
            .map_err(|e| format!("${{{key}}}: {value:?} is not a URL: {e}")),
        Some("authority") => {
            let url = url::Url::parse(value).map_err(|e| format!("${{{key}}}: {value:?} is not a URL: {e}"))?;
            let host = url.host_str().ok_or_else(|| format!("${{{key}}}: {value:?} has no host"))?;
            Ok(match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_owned(),
            })
        }
        Some(other) => Err(format!("${{{key}}}: unknown transform {other:?} (origin, authority, env)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEN_LINES: &str = r#"
name = "test@instance2.com reaches instance2"
[connect]
address = "${central}"
user = "test@instance2.com"
password = "secret"
approve_redirect = ["${origin:instances.instance2}"]
[expect]
instance = "${instances.instance2}"
max_round_trips = 3
"#;

    #[test]
    fn a_ten_line_scenario_reads_and_defaults_to_the_lookup_server() {
        let scenario = Scenario::parse(Path::new("s.toml"), TEN_LINES).expect("valid");
        assert_eq!(scenario.lookup, Some(LookupSettings::default()), "the embedded lookup server by default");
        assert_eq!(scenario.expect.status, ExpectedStatus::Connected);
        assert_eq!(scenario.expect.max_round_trips, Some(3));
        assert_eq!(scenario.connect.approve_redirect, ["${origin:instances.instance2}"]);
    }

    #[test]
    fn a_client_certificate_comes_with_the_variable_of_its_password() {
        let with = TEN_LINES.replace(
            "password = \"secret\"",
            "password = \"secret\"\nclient_cert = \"alice.p12\"\nclient_cert_password_env = \"P12_PASSWORD\"",
        );
        let scenario = Scenario::parse(Path::new("s.toml"), &with).expect("valid");
        assert_eq!(scenario.connect.client_cert.as_deref(), Some("alice.p12"));
        assert_eq!(scenario.connect.client_cert_password_env.as_deref(), Some("P12_PASSWORD"));
        let alone = TEN_LINES.replace("password = \"secret\"", "password = \"secret\"\nclient_cert = \"alice.p12\"");
        let error = Scenario::parse(Path::new("s.toml"), &alone).expect_err("no password variable").to_string();
        assert!(error.contains("client_cert_password_env"), "names the missing key: {error}");
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_file_line_and_key() {
        let typo = TEN_LINES.replace("max_round_trips = 3", "max_round_trip = 3");
        let error = Scenario::parse(Path::new("qa/s.toml"), &typo).expect_err("unknown key").to_string();
        assert!(error.starts_with("qa/s.toml:10:"), "file and line: {error}");
        assert!(error.contains("max_round_trip"), "the key: {error}");
        let wrong = TEN_LINES.replace("max_round_trips = 3", "max_round_trips = \"three\"");
        let error = Scenario::parse(Path::new("s.toml"), &wrong).expect_err("wrong type").to_string();
        assert!(error.starts_with("s.toml:10:"), "the line of the value: {error}");
        let missing = "name = \"x\"\n";
        let error = Scenario::parse(Path::new("s.toml"), missing).expect_err("no [connect]").to_string();
        assert!(error.contains("connect"), "names the missing table: {error}");
    }

    #[test]
    fn the_lookup_server_can_stand_in_front_of_another_issuer() {
        let file = TEN_LINES.replace("[connect]", "[lookup]\noidc_issuer = \"${env:HOMEPORT_ISSUER}\"\n[connect]");
        let scenario = Scenario::parse(Path::new("s.toml"), &file).expect("valid");
        let lookup = scenario.lookup.expect("[lookup]");
        assert_eq!(lookup.oidc_issuer.as_deref(), Some("${env:HOMEPORT_ISSUER}"), "kept as written until run");
    }

    #[test]
    fn the_idp_switches_are_typed_and_a_realm_excludes_the_other_public_client() {
        let with = |lookup: &str| format!("name = \"x\"\n[lookup]\n{lookup}\n[connect]\naddress = \"${{ocis}}\"\n");
        let realm = Scenario::parse(Path::new("s"), &with("idp_registration = true\nidp_realm_redirect_port = 53682"))
            .expect("valid");
        let settings = realm.lookup.expect("[lookup]");
        assert!(settings.idp_registration, "registration on");
        assert_eq!(settings.idp_realm_redirect_port, Some(53682), "the realm's port");
        for (lookup, why) in [
            ("idp_public_client = true\nidp_realm_redirect_port = 53682", "both public clients"),
            ("idp_realm_redirect_port = 0", "port 0"),
        ] {
            let refused = Scenario::parse(Path::new("s"), &with(lookup));
            assert!(
                matches!(refused, Err(ScenarioError::Invalid { line: 3 | 4, .. })),
                "{why}, at its line: {refused:?}"
            );
        }
        let error = Scenario::parse(Path::new("s"), &with("idp_realm_redirect_port = 70000")).expect_err("no u16");
        assert!(error.to_string().contains("s:3:"), "a port out of range names its line: {error}");
        let error = Scenario::parse(Path::new("s"), &with("idp_registration = \"yes\"")).expect_err("a bool");
        assert!(error.to_string().contains("s:3:"), "a wrong type names its line: {error}");
    }

    #[test]
    fn contradictions_are_refused_each_at_its_key() {
        let both = format!("{TEN_LINES}[lookup]\n[target]\nurl = \"https://x\"\n");
        let error = Scenario::parse(Path::new("s"), &both).expect_err("both targets").to_string();
        assert!(error.starts_with("s:12:2: give either [lookup] or [target]"), "the [target] header: {error}");
        let real_with_password =
            "name = \"x\"\n[target]\nurl = \"https://x\"\n[connect]\naddress = \"https://x\"\npassword = \"p\"\n";
        let error =
            Scenario::parse(Path::new("s"), real_with_password).expect_err("a password in the file").to_string();
        assert!(
            error.starts_with("s:6:1: a password written in the file"),
            "no passwords in files for real servers: {error}"
        );
        let several = TEN_LINES.replace(
            "[expect]",
            "tenant_pattern = \"{tenant}.x\"\npassword_env = \"P\"\n[expect]\nerror_code = \"tls\"",
        );
        let Err(problems) = Scenario::parse_checked(Path::new("s"), &several) else { panic!("three contradictions") };
        let lines: Vec<String> = problems.0.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 3, "every contradiction, not the first: {lines:?}");
        assert!(lines[0].starts_with("s:9:1: give either password or password_env"), "{lines:?}");
        assert!(lines[1].starts_with("s:8:1: tenant_pattern and tenant_issuer go together"), "{lines:?}");
        assert!(lines[2].starts_with("s:11:1: expect.error_code needs status"), "{lines:?}");
    }

    #[test]
    fn placeholders_come_from_the_lookup_servers_description() {
        let description = serde_json::json!({
            "central": "http://127.0.0.1:4000/",
            "instances": { "instance2": "http://127.0.0.1:4002/" },
            "matrix_portal": "http://proxy.localhost:4100/",
            "tenant_issuer_template": "http://{tenant}.auth.localhost:4200",
        });
        assert_eq!(expand("${central}", &description).as_deref(), Ok("http://127.0.0.1:4000/"));
        assert_eq!(expand("${origin:instances.instance2}", &description).as_deref(), Ok("http://127.0.0.1:4002"));
        assert_eq!(
            expand("@alice:${authority:matrix_portal}", &description).as_deref(),
            Ok("@alice:proxy.localhost:4100")
        );
        assert_eq!(
            expand("${tenant_issuer_template}", &description).as_deref(),
            Ok("http://{tenant}.auth.localhost:4200"),
            "a {{tenant}} in a value stays"
        );
        assert!(
            expand("x${nope}", &description).is_err_and(|e| e.message.contains("nope") && e.placeholder == "${nope}"),
            "unknown keys are named"
        );
        // PATH is set in every test process; a name nobody sets is named in the error.
        assert_eq!(expand("${env:PATH}", &description).ok(), std::env::var("PATH").ok(), "the environment's value");
        assert!(
            expand("x${env:HOMEPORT_TEST_NEVER_SET_4711}", &description)
                .is_err_and(|e| e.message.contains("HOMEPORT_TEST_NEVER_SET_4711") && e.message.contains("not set")),
            "an unset variable is named"
        );
        assert!(expand("${central", &description).is_err(), "unclosed");
    }
}
