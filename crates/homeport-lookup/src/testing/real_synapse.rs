//! A real Matrix homeserver for the tests: Synapse (PyPI `matrix-synapse`, pinned in dev.sh, in the
//! virtual environment `./dev.sh test` makes at `target/peers/synapse`), with SQLite, on
//! `localhost:<port>` (its server name, so Matrix IDs read `@alice:localhost:<port>`), its
//! `.well-known/matrix/client` served, generous login rate limits, and no federation. An admin
//! ([`RealSynapse::admin`]) deactivates users, sets passwords and lists devices with Synapse's
//! admin API; [`RealSynapse::requests`] reads Synapse's access log (what the client asked for).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::real_idp::free_loopback_port;

/// How long Synapse may take to answer `/_matrix/client/versions` (a few seconds here).
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// The shared secret `register_new_matrix_user` uses.
const REGISTRATION_SECRET: &str = "homeport-test-registration";

/// The command that installs Synapse, for failure messages.
pub const SYNAPSE_INSTALL_COMMAND: &str =
    "python3 -m venv target/peers/synapse && target/peers/synapse/bin/pip install matrix-synapse==1.163.2 (./dev.sh test does)";

/// How long an admin request may take (they answer in milliseconds).
const ADMIN_TIMEOUT: Duration = Duration::from_secs(20);

/// What a test sets beyond the defaults.
#[derive(Clone, Debug, Default)]
pub struct SynapseOptions {
    /// `refreshable_access_token_lifetime`: how long an access token issued with a refresh token
    /// (a login with `refresh_token: true`) lives; Synapse's default is 5 minutes. A token past it
    /// gets 401 `M_UNKNOWN_TOKEN` with `soft_logout: true`, and `POST /refresh` renews it.
    pub refreshable_access_token_lifetime: Option<Duration>,
}

/// One request of Synapse's access log: `POST /_matrix/client/v3/refresh` answered 200.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynapseRequest {
    pub method: String,
    /// The path and query as Synapse logs it (it redacts `access_token` query parameters).
    pub path: String,
    pub status: u16,
}

/// A running Synapse; stopped (killed) when dropped.
#[derive(Debug)]
pub struct RealSynapse {
    child: Child,
    dir: tempfile_dir::Dir,
    port: u16,
    config: PathBuf,
}

/// The venv's `bin/` (`HOMEPORT_SYNAPSE_VENV` overrides `target/peers/synapse`).
fn venv_bin() -> PathBuf {
    let venv = std::env::var_os("HOMEPORT_SYNAPSE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/peers/synapse"));
    venv.join("bin")
}

impl RealSynapse {
    /// Starts Synapse on a free port of 127.0.0.1 and waits until it answers (blocking: call it
    /// from `spawn_blocking` in async tests).
    pub fn start() -> RealSynapse {
        RealSynapse::start_with(SynapseOptions::default())
    }

    /// [`RealSynapse::start`] with `options` in the config.
    pub fn start_with(options: SynapseOptions) -> RealSynapse {
        let bin = venv_bin();
        assert!(
            bin.join("python").exists() && bin.join("register_new_matrix_user").exists(),
            "Synapse is not installed at {}: run {SYNAPSE_INSTALL_COMMAND}",
            bin.display()
        );
        let dir = tempfile_dir::Dir::new("synapse");
        let port = free_loopback_port();
        let config = dir.path().join("homeserver.yaml");
        let d = dir.path().display();
        let mut extra = String::new();
        if let Some(lifetime) = options.refreshable_access_token_lifetime {
            // An integer is milliseconds to Synapse's parse_duration.
            extra.push_str(&format!("refreshable_access_token_lifetime: {}\n", lifetime.as_millis()));
        }
        std::fs::write(
            &config,
            format!(
                "server_name: \"localhost:{port}\"\n\
                 pid_file: {d}/homeserver.pid\n\
                 public_baseurl: \"http://localhost:{port}/\"\n\
                 serve_client_wellknown: true\n\
                 listeners:\n  - port: {port}\n    bind_addresses: ['127.0.0.1']\n    type: http\n    tls: false\n    x_forwarded: false\n    resources:\n      - names: [client]\n        compress: false\n\
                 database:\n  name: sqlite3\n  args:\n    database: {d}/homeserver.db\n\
                 media_store_path: {d}/media\n\
                 signing_key_path: {d}/signing.key\n\
                 report_stats: false\n\
                 trusted_key_servers: []\n\
                 suppress_key_server_warning: true\n\
                 registration_shared_secret: \"{REGISTRATION_SECRET}\"\n\
                 enable_metrics: false\n\
                 rc_login:\n  address: {{per_second: 1000, burst_count: 1000}}\n  account: {{per_second: 1000, burst_count: 1000}}\n  failed_attempts: {{per_second: 1000, burst_count: 1000}}\n\
                 {extra}"
            ),
        )
        .expect("the Synapse config is written");
        let keys = Command::new(bin.join("python"))
            .args(["-m", "synapse.app.homeserver", "-c"])
            .arg(&config)
            .arg("--generate-keys")
            .output()
            .expect("Synapse's python runs");
        assert!(keys.status.success(), "Synapse generates its signing key: {keys:?}");
        let log = std::fs::File::create(dir.path().join("synapse.log")).expect("a log file");
        let child = Command::new(bin.join("python"))
            .args(["-m", "synapse.app.homeserver", "-c"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("Synapse starts");
        let mut synapse = RealSynapse { child, dir, port, config };
        synapse.wait_ready();
        synapse
    }

    fn wait_ready(&mut self) {
        let started = Instant::now();
        let url = format!("http://127.0.0.1:{}/_matrix/client/versions", self.port);
        loop {
            let answered = std::process::Command::new("curl")
                .args(["-fsS", "--noproxy", "*", "-o", "/dev/null", &url])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success());
            if answered {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("Synapse exited ({status}) before it answered:\n{}", self.log());
            }
            assert!(
                started.elapsed() < READY_TIMEOUT,
                "Synapse did not answer within {READY_TIMEOUT:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `localhost:<port>`, the server name in Matrix IDs.
    pub fn server_name(&self) -> String {
        format!("localhost:{}", self.port)
    }

    /// `http://localhost:<port>/`, the homeserver's base URL.
    pub fn base_url(&self) -> String {
        format!("http://localhost:{}/", self.port)
    }

    /// Registers a user with the shared secret (`register_new_matrix_user`; it logs the user in,
    /// so the user starts with one device of its own).
    pub fn register(&self, user: &str, password: &str, admin: bool) {
        let output = Command::new(venv_bin().join("register_new_matrix_user"))
            .arg("-c")
            .arg(&self.config)
            .args(["-u", user, "-p", password, if admin { "--admin" } else { "--no-admin" }])
            .arg(format!("http://127.0.0.1:{}", self.port))
            .output()
            .expect("register_new_matrix_user runs");
        assert!(output.status.success(), "{user} is registered: {output:?}\n{}", self.log());
    }

    /// `http://127.0.0.1:<port>/`, where the harness's own requests go (no name to resolve).
    fn loopback_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }

    /// Logs `user` in with its password (`POST /_matrix/client/v3/login`, no refresh token: the
    /// access token does not expire) and returns the session, for the admin API when `user` was
    /// registered as an admin.
    pub async fn admin(&self, user: &str, password: &str) -> SynapseAdmin {
        let client = reqwest::Client::builder().no_proxy().timeout(ADMIN_TIMEOUT).build().expect("a client");
        let body = serde_json::json!({
            "type": "m.login.password",
            "identifier": { "type": "m.id.user", "user": user },
            "password": password,
            "initial_device_display_name": "the test's admin",
        });
        let response = client
            .post(self.loopback_url("_matrix/client/v3/login"))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("Synapse answers the admin's login: {e}\n{}", self.log()));
        let (status, answer) = (response.status(), response.json::<serde_json::Value>().await.unwrap_or_default());
        assert!(status.is_success(), "{user} logs in: {status} {answer}\n{}", self.log());
        let token = answer["access_token"].as_str().expect("an access token").to_owned();
        SynapseAdmin { client, base: self.loopback_url(""), token }
    }

    /// The requests Synapse answered so far, from its access log (`synapse.access.http.<port>`
    /// lines: `… 200 "POST /_matrix/client/v3/refresh HTTP/1.1" …`), oldest first.
    pub fn requests(&self) -> Vec<SynapseRequest> {
        let line = regex::Regex::new(r#" (\d{3}) "([A-Z]+) (\S+) HTTP/1\.[01]""#).expect("the access-log pattern");
        self.full_log()
            .lines()
            .filter(|text| text.contains("synapse.access.http"))
            .filter_map(|text| line.captures(text))
            .map(|found| SynapseRequest {
                method: found[2].to_owned(),
                path: found[3].to_owned(),
                status: found[1].parse().unwrap_or_default(),
            })
            .collect()
    }

    /// The requests to `method path` (the path without its query), with their statuses.
    pub fn requests_to(&self, method: &str, path: &str) -> Vec<u16> {
        self.requests()
            .into_iter()
            .filter(|request| request.method == method && request.path.split('?').next() == Some(path))
            .map(|request| request.status)
            .collect()
    }

    fn full_log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(self.dir.path().join("synapse.log")) {
            let _ = file.read_to_string(&mut text);
        }
        text
    }

    /// What Synapse logged last (40 lines), for failure messages.
    pub fn log(&self) -> String {
        let text = self.full_log();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for RealSynapse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An admin's session at a [`RealSynapse`]: Synapse's admin API (`/_synapse/admin/…`,
/// docs: element-hq.github.io/synapse/latest/usage/administration/admin_api/) with its token.
#[derive(Debug)]
pub struct SynapseAdmin {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl SynapseAdmin {
    /// Sends `method path` with the admin's token (and `body`); the JSON answer of a 2xx.
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
        let mut request = self.client.request(method.clone(), format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("Synapse answers {method} {path}: {e}"));
        let status = response.status();
        let answer = response.json::<serde_json::Value>().await.unwrap_or_default();
        assert!(status.is_success(), "{method} {path}: {status} {answer}");
        answer
    }

    /// `POST /_synapse/admin/v1/deactivate/<user_id>`: Synapse deletes the user's devices (and
    /// with them every access and refresh token) and erases the password hash, so a password
    /// login is then refused as a wrong password (`M_FORBIDDEN`).
    pub async fn deactivate(&self, user_id: &str) {
        let answer = self
            .call(
                reqwest::Method::POST,
                &format!("_synapse/admin/v1/deactivate/{user_id}"),
                Some(serde_json::json!({ "erase": false })),
            )
            .await;
        assert!(answer.is_object(), "{user_id} is deactivated: {answer}");
    }

    /// `POST /_synapse/admin/v1/reset_password/<user_id>` without logging devices out. On a
    /// deactivated user the account stays deactivated: the password then checks out and Synapse
    /// answers the login `403 M_USER_DEACTIVATED` — as it does where an auth provider (LDAP, a
    /// module) still accepts the password of a deactivated account.
    pub async fn set_password(&self, user_id: &str, password: &str) {
        let body = serde_json::json!({ "new_password": password, "logout_devices": false });
        self.call(reqwest::Method::POST, &format!("_synapse/admin/v1/reset_password/{user_id}"), Some(body)).await;
    }

    /// The device ids of `user_id` (`GET /_synapse/admin/v2/users/<user_id>/devices`).
    pub async fn device_ids(&self, user_id: &str) -> Vec<String> {
        let answer = self.call(reqwest::Method::GET, &format!("_synapse/admin/v2/users/{user_id}/devices"), None).await;
        let devices = answer["devices"].as_array().unwrap_or_else(|| panic!("a device list: {answer}"));
        devices.iter().filter_map(|device| device["device_id"].as_str().map(str::to_owned)).collect()
    }
}

/// A scratch folder removed on drop (the lookup crate has no tempfile dependency outside tests).
mod tempfile_dir {
    use std::path::{Path, PathBuf};

    #[derive(Debug)]
    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new(what: &str) -> Dir {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            let path = std::env::temp_dir().join(format!("homeport-{what}-{}-{nanos}", std::process::id()));
            std::fs::create_dir_all(&path).expect("a scratch folder");
            Dir(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
