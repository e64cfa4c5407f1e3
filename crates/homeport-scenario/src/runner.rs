//! Plays a scenario: starts the lookup server it names (or uses its real target), drives the
//! wizard with the scenario's answers and checks its expectations. The CLI's `homeport run` plays
//! scenarios headless; the desktop app's autopilot reads the same [`Prepared`] answers and plays
//! them visibly.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use homeport_engine::oidc::InstanceLink;
use homeport_engine::oidc_client::ClientSettings;
use homeport_engine::{
    Answer, Answerer, ConnectError, Connected, Credentials, Decision, Exchange, HttpConfig, Origin, Secret, Step,
    Wizard, WizardOptions,
};
use homeport_lookup::LookupServer;
use url::Url;

use crate::expect::Failure;
pub use crate::expect::{Expectations, RunResult};
use crate::file::{BrowserAnswer, Problems, Scenario, ScenarioError};
use crate::resolve;
pub use crate::resolve::Answers;
use crate::verdict::{Ended, Verdict};

/// The exit code of a play whose expectations were not met: `homeport run` and the desktop app's
/// `--exit-when-done` end with it (docs/cli.md: exit codes).
pub const EXIT_EXPECTATIONS_FAILED: u8 = 12;

/// A scenario ready to play: its lookup server running (if it uses one) and everything resolved.
pub struct Prepared {
    pub scenario: Scenario,
    pub lookup: Option<LookupServer>,
    pub answers: Answers,
    pub expect: Expectations,
    /// Trust for the lookup server's self-signed certificate, when it serves TLS.
    pub http: HttpConfig,
}

impl Prepared {
    /// Starts the scenario's lookup server on 127.0.0.1 and resolves its placeholders; every
    /// problem found, each at its line and column.
    pub async fn start(scenario: Scenario) -> Result<Prepared, Problems> {
        let lookup = match resolve::lookup_scenario(&scenario)? {
            Some(settings) => {
                let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
                Some(LookupServer::start(loopback, settings).await.map_err(|e| ScenarioError::Unusable {
                    path: scenario.path.clone(),
                    message: format!("the lookup server could not start: {e}"),
                })?)
            }
            None => None,
        };
        let description = lookup.as_ref().map(|server| server.description().to_json());
        let resolved = resolve::answers(&scenario, description.as_ref());
        let (answers, expect, client_identity) = match resolved {
            Ok(resolved) => resolved,
            Err(problems) => {
                if let Some(lookup) = lookup {
                    lookup.shutdown().await;
                }
                return Err(problems);
            }
        };
        let mut http = HttpConfig {
            extra_root_certificates: lookup.as_ref().and_then(LookupServer::certificate_der).into_iter().collect(),
            client_identity,
            ..HttpConfig::default()
        };
        if let Some(seconds) = scenario.connect.timeout_secs {
            http.timeout = Duration::from_secs(seconds.max(1));
        }
        Ok(Prepared { scenario, lookup, answers, expect, http })
    }

    /// Checks `scenario` as [`Prepared::start`] would, its lookup server started and stopped again:
    /// nothing is played.
    pub async fn check(scenario: Scenario) -> Result<(), Problems> {
        Prepared::start(scenario).await?.stop().await;
        Ok(())
    }

    /// Wizard options for this scenario (trust, tenant profiles); add an observer to watch.
    pub fn wizard_options(&self) -> WizardOptions {
        WizardOptions {
            http: self.http.clone(),
            tenant_profiles: self.answers.tenant_profiles.clone(),
            // No memory of registered clients: each play starts from what the file says.
            oidc_clients: ClientSettings { profiles: self.answers.oidc_client.iter().cloned().collect(), memory: None },
            ..WizardOptions::default()
        }
    }

    /// Plays the scenario once, headless, and checks the expectations.
    pub async fn play(&self, options: WizardOptions) -> Outcome {
        let started_at = SystemTime::now();
        let started = Instant::now();
        let (result, round_trips, trace) = match Wizard::new(&self.answers.address, options) {
            Ok(mut wizard) => {
                let result = drive(&mut wizard, &self.answers).await;
                let trace = wizard.trace();
                (result, trace.round_trips(), trace.exchanges())
            }
            Err(error) => (Err(error), 0, Vec::new()),
        };
        let duration = started.elapsed();
        let result = match result {
            Ok(connected) => RunResult::Connected(Box::new(connected.account)),
            Err(error) => RunResult::Failed(error.report()),
        };
        let failures = self.expect.check(&result, round_trips, &trace, duration);
        Outcome {
            name: self.scenario.name.clone(),
            path: self.scenario.path.clone(),
            passed: failures.is_empty(),
            failures,
            result,
            round_trips,
            started: started_at,
            duration,
            trace,
        }
    }

    pub async fn stop(self) {
        if let Some(lookup) = self.lookup {
            lookup.shutdown().await;
        }
    }
}

/// One play of a scenario and what the expectations said.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub name: String,
    pub path: PathBuf,
    pub passed: bool,
    /// Each unmet expectation (its `Display`: the words `homeport run` prints).
    pub failures: Vec<Failure>,
    pub result: RunResult,
    pub round_trips: u32,
    /// When the play started (the trace's times count from here).
    pub started: SystemTime,
    pub duration: Duration,
    pub trace: Vec<Exchange>,
}

impl Outcome {
    /// The play judged, as data (the desktop autopilot words it in the window's language).
    pub fn verdict(&self) -> Verdict {
        verdict(&self.name, &self.result, self.failures.clone(), self.round_trips, self.duration)
    }

    /// The line `homeport run` prints for one play (failures on the lines after it).
    pub fn line(&self) -> String {
        self.verdict().to_string()
    }
}

/// How a play ended and what its expectations said, judged: its `Display` is the line
/// `homeport run` prints.
pub fn verdict(
    name: &str,
    result: &RunResult,
    failures: Vec<Failure>,
    round_trips: u32,
    duration: Duration,
) -> Verdict {
    let ended = match result {
        RunResult::Connected(account) => {
            Ended::Connected { user_id: account.user_id.clone(), instance_url: account.instance_url.to_string() }
        }
        RunResult::Failed(report) => Ended::Failed { error: report.clone() },
    };
    Verdict {
        name: name.to_owned(),
        passed: failures.is_empty(),
        ended,
        round_trips,
        duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
        failures,
    }
}

impl Answers {
    /// What is answered before the first step: credentials (sent with the first request, as a
    /// script or `curl -u` does), approved origins, plain http, the browser preference. With
    /// `auto-login` the credentials are for the login page and come back here, held: the server
    /// gets them only if it asks for a password itself.
    pub fn apply_up_front(&self, wizard: &mut Wizard) -> Option<Credentials> {
        let auto_login = self.browser == Some(BrowserAnswer::AutoLogin);
        for origin in &self.approve {
            wizard.approve_origin(origin.clone());
        }
        if self.allow_plain_http {
            // The typed server's origin only: another plain-http origin is asked about, and a
            // scenario declines it (docs/scenarios.md).
            let server = Origin::of(wizard.server().as_url());
            wizard.allow_plain_http(server);
        }
        if let Some(user) = &self.login_hint {
            wizard.set_login_hint(user.clone());
        }
        if self.browser == Some(BrowserAnswer::System) {
            wizard.prefer_browser_login();
        }
        if auto_login {
            wizard.prefer_browser_login();
            return self.credentials.clone();
        }
        if let Some(credentials) = &self.credentials {
            wizard.set_credentials(credentials.clone());
        }
        None
    }
}

/// Drives `wizard` to the end with `answers`: the credentials (for the form, or for the lookup
/// server's browser login with `auto-login`), approved origins, the instance to choose. A decision
/// the answers do not cover ends the run with that decision's refusal.
pub async fn drive(wizard: &mut Wizard, answers: &Answers) -> Result<Box<Connected>, ConnectError> {
    let held = answers.apply_up_front(wizard);
    let mut answerer = ScenarioAnswerer { answers, held, instance_offered: false, robot_at: None };
    homeport_engine::drive(wizard, &mut answerer).await
}

/// A scenario's answers to the decisions its up-front answers left.
struct ScenarioAnswerer<'a> {
    answers: &'a Answers,
    /// With `auto-login`: the credentials, for a password form if the server asks for one.
    held: Option<Credentials>,
    instance_offered: bool,
    /// The login page the lookup server's login robot logs in at, during the next step.
    robot_at: Option<String>,
}

impl Answerer for ScenarioAnswerer<'_> {
    async fn answer(&mut self, decision: &Decision) -> Result<Answer, ConnectError> {
        let auto_login = self.answers.browser == Some(BrowserAnswer::AutoLogin);
        Ok(match decision {
            Decision::NeedsCredentials { .. } if self.held.is_some() => match self.held.take() {
                Some(credentials) => Answer::credentials(credentials),
                None => Answer::Decline,
            },
            Decision::OpenBrowser { issuer, issuer_elsewhere: true, .. }
                if !url::Url::parse(issuer)
                    .is_ok_and(|url| self.answers.approve_issuer.contains(&Origin::of(&url))) =>
            {
                Answer::Decline
            }
            Decision::ConfirmUser { logged_in, .. }
                if self.answers.continue_as.as_deref().is_some_and(|user| user.eq_ignore_ascii_case(logged_in)) =>
            {
                Answer::ContinueAsLoggedInUser
            }
            Decision::OpenBrowser { url, .. } if self.answers.browser == Some(BrowserAnswer::System) => {
                open_system_browser(url).map_err(|reason| ConnectError::LoginRefused { reason })?;
                Answer::ContinueInBrowser
            }
            Decision::OpenBrowser { url, .. } if auto_login => {
                if self.answers.credentials.is_none() {
                    return Err(ConnectError::LoginRefused {
                        reason: "auto-login needs connect.user and a password".into(),
                    });
                }
                self.robot_at = Some(url.clone());
                Answer::ContinueInBrowser
            }
            Decision::ChooseInstance { instances } if self.answers.instance.is_some() && !self.instance_offered => {
                self.instance_offered = true;
                match InstanceLink::named(instances, self.answers.instance.as_deref().unwrap_or_default()) {
                    Some(found) => Answer::ChooseInstance { instance: found.url.clone() },
                    None => Answer::Decline,
                }
            }
            // client_cert answers for every server of the account that asks (docs/scenarios.md).
            Decision::ClientCertificate { .. } if self.answers.client_certificate.is_some() => {
                match &self.answers.client_certificate {
                    Some((file, password)) => {
                        Answer::ClientCertificate { file: file.clone(), password: password.clone() }
                    }
                    None => Answer::Decline,
                }
            }
            _ => Answer::Decline,
        })
    }

    async fn step(&mut self, wizard: &mut Wizard) -> Result<Step, ConnectError> {
        match (self.robot_at.take(), &self.answers.credentials) {
            (Some(url), Some(credentials)) => {
                next_with_browser_robot(wizard, &url, &credentials.user, &credentials.password).await
            }
            _ => wizard.next().await,
        }
    }
}

/// Hands `url` to the system browser: `$BROWSER` (a person's choice, or a test's robot), else
/// xdg-open. It is not waited for: the wizard waits for the browser to come back to it.
pub fn open_system_browser(url: &str) -> Result<(), String> {
    let opener = std::env::var("BROWSER").ok().filter(|b| !b.trim().is_empty()).unwrap_or_else(|| "xdg-open".into());
    std::process::Command::new(&opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .spawn()
        .map(drop)
        .map_err(|e| format!("could not start {opener} ({e}); open the link yourself: {url}"))
}

/// The wizard's next step while the lookup server's login robot logs in at `url` like a person
/// in the browser. The robot's failure (a wrong password, a refused IdP) ends the wait at once
/// instead of the wizard waiting minutes for a browser that never comes back.
pub async fn next_with_browser_robot(
    wizard: &mut Wizard,
    url: &str,
    user: &str,
    password: &Secret,
) -> Result<Step, ConnectError> {
    let url =
        Url::parse(url).map_err(|e| ConnectError::LoginRefused { reason: format!("the login page {url:?}: {e}") })?;
    let raced = homeport_lookup::while_browser_logs_in(wizard.next(), &url, user, password.expose()).await;
    match raced {
        Ok(raced) => raced.outcome,
        Err(e) => {
            let failure = match e {
                homeport_lookup::LookupError::AutoLogin(reason) => reason,
                other => other.to_string(),
            };
            Err(ConnectError::BrowserLoginFailed { error: failure, description: String::new() })
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[tokio::test]
    async fn an_address_that_names_the_user_needs_no_user_key() {
        let file = "name = \"alice by her Matrix ID\"\n[connect]\naddress = \"@alice:${authority:matrix_portal}\"\npassword = \"wonderland\"\n";
        let prepared =
            Prepared::start(Scenario::parse(Path::new("m.toml"), file).expect("valid")).await.expect("starts");
        let user = prepared.answers.credentials.as_ref().map(|credentials| credentials.user.clone());
        assert_eq!(user.as_deref(), Some(prepared.answers.address.as_str()), "the Matrix ID is the login name");
        let outcome = prepared.play(prepared.wizard_options()).await;
        assert!(outcome.passed, "alice connects with the password alone: {}", outcome.line());
        prepared.stop().await;

        let central = "name = \"x\"\n[connect]\naddress = \"${central}\"\npassword = \"secret\"\n";
        let Err(problems) = Prepared::start(Scenario::parse(Path::new("c.toml"), central).expect("parses")).await
        else {
            panic!("a server address names no user");
        };
        assert!(
            problems
                .to_string()
                .starts_with("c.toml:4:1: a password needs connect.user, or an address that names the user"),
            "{problems}"
        );
    }

    async fn play_file(text: &str) -> Outcome {
        let prepared =
            Prepared::start(Scenario::parse(Path::new("t.toml"), text).expect("valid")).await.expect("starts");
        let outcome = prepared.play(prepared.wizard_options()).await;
        prepared.stop().await;
        outcome
    }

    const TO_THE_CANARY: &str = "name = \"to the canary\"\n[lookup]\nfault = \"redirect-to-other-origin\"\n[connect]\naddress = \"${central}\"\nuser = \"test@instance1.com\"\npassword = \"secret\"\n";

    #[tokio::test]
    async fn credentials_that_reach_a_forbidden_origin_fail_the_play_naming_the_request() {
        let expect = "[expect]\nstatus = \"failed\"\nno_credentials_to = [\"${origin:canary}\"]\nrequests_to = { \"${origin:canary}\" = 0 }\n";
        let unapproved = play_file(&format!("{TO_THE_CANARY}{expect}")).await;
        assert!(unapproved.passed, "unapproved, the canary gets nothing: {}", unapproved.line());
        let approved =
            play_file(&format!("{TO_THE_CANARY}approve_redirect = [\"${{origin:canary}}\"]\n{expect}")).await;
        assert!(!approved.passed, "approved, the password goes to the canary: {}", approved.line());
        let failures: Vec<String> = approved.failures.iter().map(ToString::to_string).collect();
        let credentials = failures.iter().find(|f| f.starts_with("expected no credentials to http://127.0.0.1:"));
        assert!(
            credentials
                .is_some_and(|f| f.contains("PROPFIND http://127.0.0.1:") && f.contains("carried Basic credentials")),
            "the request is named, with what it carried: {failures:?}"
        );
        assert!(
            failures.iter().any(|f| f.starts_with("expected 0 requests to http://127.0.0.1:")
                && f.contains(" went there: PROPFIND http://127.0.0.1:")),
            "and counted: {failures:?}"
        );
    }

    #[tokio::test]
    async fn a_password_in_a_login_body_counts_as_credentials() {
        let file = "name = \"bob at the 307 portal\"\n[connect]\naddress = \"@bob:${authority:matrix_portal_307}\"\npassword = \"builder\"\napprove_redirect = [\"${origin:matrix_homeservers.hs2}\"]\n[expect]\ndisplay_name = \"Bob Builder\"\nno_credentials_to = [\"${origin:matrix_portal_307}\"]\n";
        let outcome = play_file(file).await;
        assert!(matches!(outcome.result, RunResult::Connected(_)), "bob connects: {}", outcome.line());
        assert_eq!(
            outcome.failures.len(),
            1,
            "the display name matches, the portal saw the password: {:?}",
            outcome.failures
        );
        let failure = outcome.failures[0].to_string();
        assert!(
            failure.contains("POST http://") && failure.contains("/login carried a password or token in the body"),
            "the portal got the login's password: {:?}",
            outcome.failures
        );
        let wrong_name =
            play_file(&file.replace("Bob Builder", "Robert").replace("no_credentials_to", "requests_to = {}\n#")).await;
        assert!(
            matches!(wrong_name.failures.as_slice(), [Failure::DisplayName { expected, got }]
                if expected == "Robert" && got == "Bob Builder"),
            "the display name is compared exactly: {:?}",
            wrong_name.failures
        );
        assert!(
            wrong_name.line().ends_with("\n    expected display name \"Robert\", got \"Bob Builder\""),
            "the verdict's last line: {}",
            wrong_name.line()
        );
    }

    fn with_issuer(issuer: &str) -> Scenario {
        let text = format!(
            "name = \"oCIS in front of another issuer\"\n[lookup]\noidc_issuer = \"{issuer}\"\n[connect]\naddress = \"${{ocis}}\"\n"
        );
        Scenario::parse(Path::new("issuer.toml"), &text).expect("a valid file")
    }

    #[tokio::test]
    async fn oidc_issuer_takes_an_env_placeholder_and_the_lookup_server_names_it() {
        // Only this test reads this variable.
        std::env::set_var("HOMEPORT_TEST_RUNNER_ISSUER", "http://127.0.0.1:9/realms/homeport");
        let prepared = Prepared::start(with_issuer("${env:HOMEPORT_TEST_RUNNER_ISSUER}")).await.expect("it starts");
        let lookup = prepared.lookup.as_ref().expect("the lookup server");
        assert_eq!(
            lookup.description().ocis_issuer.as_deref(),
            Some("http://127.0.0.1:9/realms/homeport"),
            "the oCIS server trusts the issuer from the environment"
        );
        assert_eq!(
            &prepared.answers.address,
            lookup.ocis_url().as_str(),
            "placeholders of the lookup server still work"
        );
        prepared.stop().await;
    }

    #[tokio::test]
    async fn oidc_issuer_refuses_unset_variables_lookup_placeholders_and_other_machines() {
        for (issuer, expected) in [
            ("${env:HOMEPORT_TEST_NEVER_SET_4712}", "HOMEPORT_TEST_NEVER_SET_4712 is not set"),
            ("${idp}", "only ${env:NAME} works here"),
            ("https://idp.example.org", "on this machine"),
        ] {
            let Err(error) = Prepared::start(with_issuer(issuer)).await else {
                panic!("{issuer} is refused");
            };
            let message = error.to_string();
            assert!(message.contains(expected), "{issuer}: {message}");
        }
    }
}
