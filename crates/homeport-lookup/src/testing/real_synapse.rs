//! A real Matrix homeserver for the tests: Synapse (PyPI `matrix-synapse`, pinned in dev.sh, in the
//! virtual environment `./dev.sh test` makes at `target/peers/synapse`), with SQLite, on
//! `localhost:<port>` (its server name, so Matrix IDs read `@alice:localhost:<port>`), its
//! `.well-known/matrix/client` served, generous login rate limits, and no federation.

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
    /// Starts Synapse on a free port of 127.0.0.1 and waits until it answers.
    pub fn start() -> RealSynapse {
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
                 rc_login:\n  address: {{per_second: 1000, burst_count: 1000}}\n  account: {{per_second: 1000, burst_count: 1000}}\n  failed_attempts: {{per_second: 1000, burst_count: 1000}}\n"
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

    /// Registers a user with the shared secret (`register_new_matrix_user`).
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

    /// What Synapse logged so far, for failure messages.
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(self.dir.path().join("synapse.log")) {
            let _ = file.read_to_string(&mut text);
        }
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
