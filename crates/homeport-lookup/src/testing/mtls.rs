//! Real servers that demand a client certificate (mutual TLS), for the engine's, the CLI's and the
//! scenarios' tests: a test CA, a server and client certificates made by the `openssl` CLI, the
//! client's as a PKCS#12 file (`openssl pkcs12 -export`), and `openssl s_server -Verify 1 -www`
//! or nginx (`ssl_verify_client on`, in front of a lookup-server instance) on 127.0.0.1.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use url::Url;

use super::free_loopback_port;

/// How to install the peers on Debian (also in dev.sh's list).
pub const MTLS_INSTALL_COMMAND: &str = "apt-get install -y --no-install-recommends openssl nginx-light";

/// The password of [`Pki::client_p12`].
pub const CLIENT_P12_PASSWORD: &str = "correct-horse-battery";

/// A test CA with a server certificate for 127.0.0.1/localhost and two client certificates: one it
/// issued (`alice`), one from another CA (`mallory`). Files in a scratch folder, removed on drop.
#[derive(Debug)]
pub struct Pki {
    dir: Scratch,
}

impl Pki {
    pub fn new() -> Pki {
        let dir = Scratch::new("mtls");
        let pki = Pki { dir };
        pki.ca("ca", "Homeport Test CA");
        pki.ca("other-ca", "Some Other CA");
        pki.issue("server", "ca", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
        pki.issue("alice", "ca", "/CN=alice/O=Homeport Tests", "extendedKeyUsage=clientAuth\n");
        pki.issue("mallory", "other-ca", "/CN=mallory/O=Elsewhere", "extendedKeyUsage=clientAuth\n");
        pki.export("alice", "ca");
        pki.export("mallory", "other-ca");
        // What `s_server -WWW` serves from this folder.
        let status = r#"{"installed":true,"maintenance":false,"needsDbUpgrade":false,"version":"10.15.0.2","versionstring":"10.15.0","edition":"Community","productname":"ownCloud"}"#;
        std::fs::write(pki.path("status.php"), status).expect("status.php");
        pki
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The CA's certificate (DER), for the client's extra trusted roots.
    pub fn ca_der(&self) -> Vec<u8> {
        let pem = std::fs::read_to_string(self.path("ca.pem")).expect("ca.pem");
        let body: String = pem.lines().filter(|line| !line.starts_with("-----")).collect();
        base64_decode(&body)
    }

    /// The CA's certificate (PEM), for `SSL_CERT_FILE` (a process's system trust).
    pub fn ca_pem(&self) -> PathBuf {
        self.path("ca.pem")
    }

    /// alice's PKCS#12 file (key, certificate, CA), password [`CLIENT_P12_PASSWORD`].
    pub fn client_p12(&self) -> PathBuf {
        self.path("alice.p12")
    }

    /// A client certificate from a CA the servers do not trust.
    pub fn stranger_p12(&self) -> PathBuf {
        self.path("mallory.p12")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn ca(&self, name: &str, common_name: &str) {
        openssl(
            self.dir(),
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-days",
                "2",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.pem"),
                "-subj",
                &format!("/CN={common_name}"),
            ],
        );
    }

    fn issue(&self, name: &str, ca: &str, subject: &str, extensions: &str) {
        std::fs::write(self.path(&format!("{name}.ext")), extensions).expect("extensions file");
        openssl(
            self.dir(),
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                subject,
            ],
        );
        openssl(
            self.dir(),
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                &format!("{ca}.pem"),
                "-CAkey",
                &format!("{ca}.key"),
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                &format!("{name}.pem"),
                "-extfile",
                &format!("{name}.ext"),
            ],
        );
    }

    fn export(&self, name: &str, ca: &str) {
        openssl(
            self.dir(),
            &[
                "pkcs12",
                "-export",
                "-inkey",
                &format!("{name}.key"),
                "-in",
                &format!("{name}.pem"),
                "-certfile",
                &format!("{ca}.pem"),
                "-out",
                &format!("{name}.p12"),
                "-passout",
                &format!("pass:{CLIENT_P12_PASSWORD}"),
            ],
        );
    }
}

impl Default for Pki {
    fn default() -> Self {
        Pki::new()
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl").args(args).current_dir(dir).stdin(Stdio::null()).output();
    match output {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!("openssl {args:?} failed: {}", String::from_utf8_lossy(&output.stderr)),
        Err(e) => panic!("openssl is needed for the client-certificate tests ({e}): {MTLS_INSTALL_COMMAND}"),
    }
}

/// A server on 127.0.0.1 that demands a client certificate issued by [`Pki`]'s CA; stopped on drop.
#[derive(Debug)]
pub struct MtlsServer {
    child: Child,
    port: u16,
    /// nginx's prefix (its configuration, logs and pid).
    _prefix: Option<Scratch>,
}

impl MtlsServer {
    /// `openssl s_server -Verify 1 -verify_return_error -WWW`: without a certificate the handshake
    /// fails (TLS 1.3: `certificate_required`; with `tls12`, TLS 1.2's `handshake_failure`), with
    /// one from another CA too (`unknown_ca`); with alice's, `GET /status.php` answers an ownCloud
    /// status (the file [`Pki`] wrote), so a wizard gets as far as asking for a password.
    pub fn openssl(pki: &Pki, tls12: bool) -> MtlsServer {
        let port = free_loopback_port();
        let mut command = Command::new("openssl");
        command
            .args(["s_server", "-accept", &format!("127.0.0.1:{port}"), "-cert", "server.pem", "-key", "server.key"])
            .args(["-CAfile", "ca.pem", "-Verify", "1", "-verify_return_error", "-WWW", "-quiet"])
            .current_dir(pki.dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if tls12 {
            command.arg("-tls1_2");
        }
        let child =
            command.spawn().unwrap_or_else(|e| panic!("openssl s_server does not start ({e}): {MTLS_INSTALL_COMMAND}"));
        MtlsServer::ready(child, port, None)
    }

    /// nginx terminating TLS with `ssl_verify_client on` in front of `upstream` (a lookup-server
    /// instance on plain http): a full connection through a real mTLS front end. Without a
    /// certificate nginx answers 400 "No required SSL certificate was sent". It offers HTTP/2 and
    /// HTTP/1.1 by ALPN, as real front ends do; [`MtlsServer::requests`] says which each request
    /// came over and whether its certificate was verified.
    pub fn nginx(pki: &Pki, upstream: &Url) -> MtlsServer {
        let port = free_loopback_port();
        let prefix = Scratch::new("nginx");
        let temp = prefix.path().join("temp");
        std::fs::create_dir_all(&temp).expect("nginx temp folder");
        let pki_dir = pki.dir().display();
        let upstream = upstream.as_str().trim_end_matches('/');
        let temp = temp.display();
        // As root, the workers would switch to `nobody`, which cannot read the scratch folder.
        let user = if is_root() { "user root;" } else { "" };
        let conf = format!(
            "{user}
# One process, no workers: killing it on drop leaves nothing running (a killed master would
# orphan its workers, still listening).
master_process off;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
  log_format protocol '$server_protocol $ssl_client_verify';
  access_log {prefix}/access.log protocol;
  client_body_temp_path {temp}/body; proxy_temp_path {temp}/proxy; fastcgi_temp_path {temp}/fastcgi;
  uwsgi_temp_path {temp}/uwsgi; scgi_temp_path {temp}/scgi;
  server {{
    listen 127.0.0.1:{port} ssl http2;
    ssl_certificate {pki_dir}/server.pem;
    ssl_certificate_key {pki_dir}/server.key;
    ssl_client_certificate {pki_dir}/ca.pem;
    ssl_verify_client on;
    location / {{
      proxy_pass {upstream};
      proxy_set_header Host $http_host;
    }}
  }}
}}
",
            prefix = prefix.path().display(),
        );
        let conf_path = prefix.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("nginx.conf");
        let child = Command::new("nginx")
            .arg("-p")
            .arg(prefix.path())
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("nginx does not start ({e}): {MTLS_INSTALL_COMMAND}"));
        MtlsServer::ready(child, port, Some(prefix))
    }

    fn ready(mut child: Child, port: u16, prefix: Option<Scratch>) -> MtlsServer {
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                let log = prefix
                    .as_ref()
                    .and_then(|prefix| std::fs::read_to_string(prefix.path().join("error.log")).ok())
                    .unwrap_or_default();
                panic!("the mTLS server exited ({status}) before listening on {port}: {log}");
            }
            assert!(Instant::now() < deadline, "the mTLS server did not listen on 127.0.0.1:{port} within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        MtlsServer { child, port, _prefix: prefix }
    }

    /// nginx's access log: per request, the protocol and the client certificate's verification
    /// (`HTTP/2.0 SUCCESS`, `HTTP/1.1 NONE`, …); empty for `openssl s_server`. nginx writes each
    /// line when it has answered, so a caller that has its answers finds them all.
    pub fn requests(&self) -> Vec<String> {
        let log =
            self._prefix.as_ref().and_then(|prefix| std::fs::read_to_string(prefix.path().join("access.log")).ok());
        log.unwrap_or_default().lines().map(str::to_owned).collect()
    }

    pub fn url(&self) -> Url {
        Url::parse(&format!("https://127.0.0.1:{}/", self.port)).expect("a URL")
    }

    /// `127.0.0.1:<port>`, as the engine names a server.
    pub fn authority(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for MtlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0").unwrap_or(false)
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).expect("PEM holds base64")
}

/// A scratch folder removed on drop.
#[derive(Debug)]
struct Scratch(PathBuf);

impl Scratch {
    fn new(what: &str) -> Scratch {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let count = COUNT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("homeport-{what}-{}-{nanos}-{count}", std::process::id()));
        std::fs::create_dir_all(&path).expect("a scratch folder");
        Scratch(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
