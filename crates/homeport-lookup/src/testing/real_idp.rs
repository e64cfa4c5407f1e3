//! A real, certified OpenID Provider for the tests: node-oidc-provider (npm `oidc-provider`, pinned in
//! `tests/peers/oidc-provider/package-lock.json`) in the set-ups of `tests/peers/oidc-provider/provider.mjs`, and
//! the `$BROWSER` robot `tests/peers/browser-robot.py` that fills its login and consent forms
//! (docs/testing.md, "Real OpenID Providers").
//!
//! ```no_run
//! use homeport_lookup::testing::{browser_robot, RealIdp, RealIdpSetup};
//! let idp = RealIdp::start(RealIdpSetup::Ocis { access_token_ttl: None });
//! let robot = browser_robot("einstein", "relativity");
//! let mut command = std::process::Command::new("homeport");
//! command.arg("connect").envs(robot.envs());
//! // idp.issuer(), idp.client_id(), idp.client_secret(); the provider stops when `idp` is dropped.
//! ```

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use url::Url;

/// How long the provider may take to print its ready line (node starts in well under a second here).
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The command that installs the provider's packages, for failure messages.
pub const PEER_INSTALL_COMMAND: &str = "npm ci --prefix tests/peers/oidc-provider --no-audit --no-fund";

/// Which identity provider the real OpenID Provider acts as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RealIdpSetup {
    /// oCIS's built-in IdP (lico): registration off, only the ownCloud desktop client (confidential, any loopback
    /// port and path), PKCE required, a refresh token only with `prompt=consent`; issuer `http://127.0.0.1:PORT`.
    Ocis {
        /// The access tokens' lifetime (default one hour): a few seconds to test refresh.
        access_token_ttl: Option<Duration>,
    },
    /// A Keycloak realm: issuer `http://127.0.0.1:PORT/realms/homeport`, the public client `homeport` registered
    /// for `http://127.0.0.1:<redirect_port>/*` only, a refresh token with every code exchange.
    Keycloak {
        redirect_port: u16,
        /// The access tokens' lifetime (default one hour).
        access_token_ttl: Option<Duration>,
    },
}

/// A running node-oidc-provider; stopped (killed) when dropped.
#[derive(Debug)]
pub struct RealIdp {
    child: Child,
    /// Held so the provider sees its standard input close if this process dies without dropping us.
    _stdin: Option<ChildStdin>,
    issuer: Url,
    ready: serde_json::Value,
    log: PathBuf,
}

/// `tests/peers/` of the repository.
pub fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers")
}

fn provider_dir() -> PathBuf {
    peers_dir().join("oidc-provider")
}

/// A port of 127.0.0.1 that was free a moment ago (for the Keycloak set-up's one registered redirect port).
pub fn free_loopback_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port on 127.0.0.1")
}

/// Panics, naming the install command, unless the pinned `oidc-provider` is installed.
fn check_installed(dir: &Path) {
    let read_json = |path: PathBuf| -> Option<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
    };
    let pinned = read_json(dir.join("package.json"))
        .and_then(|package| package["dependencies"]["oidc-provider"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("{} names no oidc-provider version", dir.join("package.json").display()));
    let installed = read_json(dir.join("node_modules/oidc-provider/package.json"))
        .and_then(|package| package["version"].as_str().map(str::to_owned));
    match installed {
        Some(version) if version == pinned => {}
        Some(version) => panic!(
            "tests/peers/oidc-provider has oidc-provider {version} installed, the lockfile pins {pinned}: run `{PEER_INSTALL_COMMAND}` (./dev.sh test does)"
        ),
        None => panic!(
            "the real OpenID Provider's packages are not installed (no {}): run `{PEER_INSTALL_COMMAND}` (./dev.sh test does)",
            dir.join("node_modules/oidc-provider").display()
        ),
    }
}

/// `<what>-<pid>-<n>`: unique in this machine for this process's life.
pub(crate) fn unique(what: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{what}-{}-{n}", std::process::id())
}

fn scratch_log_path() -> PathBuf {
    std::env::temp_dir().join(format!("homeport-{}.log", unique("real-idp")))
}

impl RealIdp {
    /// Starts the provider on a free port of 127.0.0.1 and waits (at most 30 s) for its ready line. Panics with
    /// the provider's own output when it does not start, or naming the install command when its packages are
    /// missing.
    pub fn start(setup: RealIdpSetup) -> RealIdp {
        let dir = provider_dir();
        check_installed(&dir);
        let log = scratch_log_path();
        let log_file = std::fs::File::create(&log).expect("a log file for the provider in the temp dir");
        let mut command = Command::new("node");
        command.current_dir(&dir).arg(dir.join("provider.mjs")).args(["--port", "0"]);
        let ttl = match setup {
            RealIdpSetup::Ocis { access_token_ttl } => {
                command.args(["--setup", "ocis"]);
                access_token_ttl
            }
            RealIdpSetup::Keycloak { redirect_port, access_token_ttl } => {
                command.args(["--setup", "keycloak", "--redirect-port", &redirect_port.to_string()]);
                access_token_ttl
            }
        };
        if let Some(ttl) = ttl {
            command.args(["--access-token-ttl", &ttl.as_secs().max(1).to_string()]);
        }
        // The provider as pinned, with no preloaded code or inspector from the environment.
        command.env_remove("NODE_OPTIONS");
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(log_file);
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start node (Node.js 20 or newer; ./dev.sh test installs it): {e}"));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("the provider's stdout is piped");
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = sender.send(lines.next());
            // Keep reading so the provider never blocks on a full pipe.
            for _ in lines {}
        });
        let provider_log = |log: &Path| std::fs::read_to_string(log).unwrap_or_default();
        let line = match receiver.recv_timeout(READY_TIMEOUT) {
            Ok(Some(Ok(line))) => line,
            outcome => {
                let _ = child.kill();
                let status = child.wait().ok();
                panic!(
                    "the real OpenID Provider ({setup:?}) did not print its ready line within {READY_TIMEOUT:?} ({outcome:?}, exit {status:?}); its output:\n{}",
                    provider_log(&log)
                );
            }
        };
        let ready: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the provider's ready line is not JSON ({e}): {line}"));
        let issuer = ready["issuer"]
            .as_str()
            .and_then(|issuer| Url::parse(issuer).ok())
            .unwrap_or_else(|| panic!("the provider's ready line names no issuer URL: {line}"));
        RealIdp { child, _stdin: stdin, issuer, ready, log }
    }

    /// The issuer, exactly as the provider's discovery document says (no trailing slash):
    /// `http://127.0.0.1:PORT` or `http://127.0.0.1:PORT/realms/homeport`.
    pub fn issuer(&self) -> &str {
        self.ready["issuer"].as_str().unwrap_or_else(|| self.issuer.as_str())
    }

    /// The issuer as a URL.
    pub fn issuer_url(&self) -> &Url {
        &self.issuer
    }

    /// `<issuer>/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer())
    }

    /// The registered client: the ownCloud desktop client's id (oCIS) or `homeport` (Keycloak).
    pub fn client_id(&self) -> &str {
        self.ready["client_id"].as_str().expect("the ready line names the client")
    }

    /// The client's secret (oCIS's desktop client), `None` for the Keycloak set-up's public client.
    pub fn client_secret(&self) -> Option<&str> {
        self.ready["client_secret"].as_str()
    }

    /// The provider's ready line.
    pub fn ready_line(&self) -> &serde_json::Value {
        &self.ready
    }

    /// Everything the provider wrote on stderr so far (each request it got, refusals): for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for RealIdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// The `$BROWSER` robot with the credentials it types, for a CLI's or the desktop app's environment.
#[derive(Clone, Debug)]
pub struct BrowserRobot {
    /// `tests/peers/browser-robot.py` (executable; python3 standard library only).
    pub program: PathBuf,
    pub user: String,
    pub password: String,
    /// Where the robot appends every page it saw, what it submitted and where it ended.
    pub log: PathBuf,
}

/// The robot logging in as `user` with `password`; its log goes to a fresh file in the temp dir.
pub fn browser_robot(user: &str, password: &str) -> BrowserRobot {
    let log = std::env::temp_dir().join(format!("homeport-{}.log", unique("browser-robot")));
    let _ = std::fs::remove_file(&log);
    BrowserRobot {
        program: peers_dir().join("browser-robot.py"),
        user: user.to_owned(),
        password: password.to_owned(),
        log,
    }
}

impl BrowserRobot {
    /// `BROWSER`, `HOMEPORT_ROBOT_USER`, `HOMEPORT_ROBOT_PASSWORD`, `HOMEPORT_ROBOT_LOG`: for `Command::envs`
    /// of the CLI (`--browser system` runs `$BROWSER URL`) or the desktop app (xdg-open honours `$BROWSER`).
    pub fn envs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("BROWSER", self.program.display().to_string()),
            ("HOMEPORT_ROBOT_USER", self.user.clone()),
            ("HOMEPORT_ROBOT_PASSWORD", self.password.clone()),
            ("HOMEPORT_ROBOT_LOG", self.log.display().to_string()),
        ]
    }

    /// What the robot logged so far (empty when it never ran): for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Runs the robot on `url` and waits for it: its exit status and stderr.
    pub fn run(&self, url: &str) -> (std::process::ExitStatus, String) {
        let output = Command::new(&self.program)
            .arg(url)
            .envs(self.envs())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {} (python3 is needed): {e}", self.program.display()));
        (output.status, String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[cfg(test)]
mod tests;
