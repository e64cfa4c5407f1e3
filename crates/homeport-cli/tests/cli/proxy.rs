//! `homeport connect --proxy` through real proxies on loopback: tinyproxy (HTTP: plain requests
//! forwarded, https tunnelled with CONNECT, Basic auth) and microsocks (SOCKS5 with a user name and
//! password), each started here on a free port with its config in a temp dir and killed at the
//! end. Their own logs show that the requests went through them; a refusing proxy, wrong proxy
//! credentials and a closed proxy port are named as the proxy's failure, not the server's.

use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use homeport_lookup::Scenario;
use tokio::io::AsyncWriteExt as _;

use crate::{code, json, lookup, origin, HOMEPORT};

const PROXY_USER: &str = "alice";
const PROXY_PASSWORD: &str = "proxy-pass-7";

/// A proxy process; killed (and reaped) when dropped, so a failing test leaves none behind.
struct ProxyProcess {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ProxyProcess {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// A port of 127.0.0.1 that nothing listens on (it was free a moment ago).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("addr").port()
}

fn program(name: &str) -> String {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|path| path.is_file());
    found
        .unwrap_or_else(|| {
            panic!("{name} is needed for the proxy tests: ./dev.sh test installs it (apt-get install {name})")
        })
        .display()
        .to_string()
}

/// Starts `command` and waits (bounded) until its port accepts connections.
fn spawn(
    mut command: std::process::Command,
    port: u16,
    log: std::path::PathBuf,
    dir: tempfile::TempDir,
) -> ProxyProcess {
    let child = command.stdin(Stdio::null()).spawn().expect("the proxy starts");
    let process = ProxyProcess { child, port, log, _dir: dir };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the proxy listens on {port} within 10 s: {}", process.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    process
}

/// tinyproxy on a free port, asking for `PROXY_USER`/`PROXY_PASSWORD`, logging every request.
fn tinyproxy() -> ProxyProcess {
    let dir = tempfile::tempdir().expect("temp");
    let port = free_port();
    let log = dir.path().join("tinyproxy.log");
    let config = dir.path().join("tinyproxy.conf");
    // No ConnectPort line: CONNECT to any port (the lookup server's are random).
    let text = format!(
        "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 20\nLogLevel Info\nLogFile \"{}\"\nBasicAuth {PROXY_USER} {PROXY_PASSWORD}\n",
        log.display()
    );
    std::fs::write(&config, text).expect("write tinyproxy.conf");
    let mut command = std::process::Command::new(program("tinyproxy"));
    // -d: in the foreground, so it is this test's child and dies with it.
    command.arg("-d").arg("-c").arg(&config).stdout(Stdio::null()).stderr(Stdio::null());
    spawn(command, port, log, dir)
}

/// microsocks on a free port, asking for `PROXY_USER`/`PROXY_PASSWORD`; it logs each connection
/// it makes ("connected to 127.0.0.1:PORT") on stderr, which goes to a file.
fn microsocks() -> ProxyProcess {
    let dir = tempfile::tempdir().expect("temp");
    let port = free_port();
    let log = dir.path().join("microsocks.log");
    let stderr = std::fs::File::create(&log).expect("log file");
    let mut command = std::process::Command::new(program("microsocks"));
    command
        .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-u", PROXY_USER, "-P", PROXY_PASSWORD])
        .stdout(Stdio::null())
        .stderr(stderr);
    spawn(command, port, log, dir)
}

/// Runs `homeport ARGS` with the account's password on stdin and `proxy_password` (if any) in
/// HOMEPORT_PROXY_PASSWORD; the environment's proxies are cleared so only `--proxy` counts.
async fn homeport(config: &Path, args: &[&str], proxy_password: Option<&str>) -> Output {
    homeport_with(config, args, proxy_password, &[]).await
}

/// [`homeport`] with `env` set after the environment's proxies are cleared.
async fn homeport_with(config: &Path, args: &[&str], proxy_password: Option<&str>, env: &[(&str, &str)]) -> Output {
    let mut command = tokio::process::Command::new(HOMEPORT);
    command
        .args(args)
        .env("HOMEPORT_CONFIG_DIR", config)
        .env_remove("HOMEPORT_PROXY_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for name in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
        command.env_remove(name);
    }
    if let Some(password) = proxy_password {
        command.env("HOMEPORT_PROXY_PASSWORD", password);
    }
    command.envs(env.iter().copied());
    let mut child = command.spawn().expect("homeport runs");
    let mut stdin = child.stdin.take().expect("stdin");
    // A homeport that already ended (a refused flag) closed its stdin: its output tells why.
    if let Err(e) = stdin.write_all(b"secret\n").await {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write password: {e}");
    }
    drop(stdin);
    tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("homeport finishes")
        .expect("output")
}

fn connect_args<'a>(central: &'a str, instance2: &'a str, proxy: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "connect",
        central,
        "--user",
        "test@instance2.com",
        "--password-stdin",
        "--approve-redirect",
        instance2,
        "--no-store",
        "--json",
        "--proxy",
        proxy,
    ];
    args.extend_from_slice(more);
    args
}

fn port_of(url: &str) -> u16 {
    url::Url::parse(url).expect("url").port().expect("a port")
}

/// Asserts a failure named as the proxy's: exit 3 (unreachable), the proxy in message and detail.
fn assert_proxy_failed(output: &Output, proxy: &str, why: &str) -> String {
    let failure = json(output);
    let error = &failure["error"];
    assert_eq!((code(output), error["code"].as_str()), (3, Some("unreachable")), "{why}: {failure}");
    assert_eq!(error["detail"]["reason"], "proxy", "{why}: the proxy is named as the cause: {failure}");
    assert_eq!(error["detail"]["proxy"], proxy, "{why}: which proxy: {failure}");
    let message = error["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains(&format!("the proxy {proxy} failed")), "{why}: the message names it: {message}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains(PROXY_PASSWORD), "no proxy password in the output");
    assert!(!String::from_utf8_lossy(&output.stderr).contains(PROXY_PASSWORD), "no proxy password on stderr");
    message
}

#[tokio::test]
async fn an_http_proxy_forwards_every_request_and_wants_its_credentials() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let central = server.central_url().to_string();
    let instance2 = origin(&server, "instance2");
    let proxy = tinyproxy();
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);

    let through = homeport(
        config.path(),
        &connect_args(&central, &instance2, &proxy_url, &["--proxy-user", PROXY_USER]),
        Some(PROXY_PASSWORD),
    )
    .await;
    assert_eq!(code(&through), 0, "connects through the proxy: {}", String::from_utf8_lossy(&through.stdout));
    let log = proxy.log();
    // Both servers are on loopback, which an environment proxy never gets: only --proxy sends
    // them there, and the proxy's own log is the witness.
    for origin in [&central, &instance2] {
        let port = port_of(origin);
        assert!(
            log.contains("Request (file descriptor") && log.contains(&format!("http://127.0.0.1:{port}/")),
            "the proxy forwarded the requests to {origin}: {log}"
        );
    }
    assert!(log.contains("/status.php"), "status.php went through the proxy: {log}");

    let without = homeport(config.path(), &connect_args(&central, &instance2, &proxy_url, &[]), None).await;
    let message = assert_proxy_failed(&without, &proxy_url, "no proxy credentials");
    assert!(message.contains("asks for a user name and password"), "407 in words: {message}");

    drop(proxy);
    server.shutdown().await;
}

#[tokio::test]
async fn an_http_proxy_tunnels_https_and_wrong_credentials_are_the_proxys_failure() {
    let server = lookup(Scenario { tls: true, ..Scenario::default() }).await;
    let config = tempfile::tempdir().expect("temp");
    let fingerprint = server.description().tls_certificate_sha256.expect("fingerprint");
    let central = server.central_url().to_string();
    let instance2 = origin(&server, "instance2");
    let proxy = tinyproxy();
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    let trust = ["--trust-cert", fingerprint.as_str(), "--proxy-user", PROXY_USER];

    let through =
        homeport(config.path(), &connect_args(&central, &instance2, &proxy_url, &trust), Some(PROXY_PASSWORD)).await;
    assert_eq!(code(&through), 0, "https through CONNECT: {}", String::from_utf8_lossy(&through.stdout));
    let log = proxy.log();
    assert!(
        log.contains(&format!("CONNECT 127.0.0.1:{}", port_of(&central))),
        "the proxy tunnelled to the central server: {log}"
    );

    let wrong = homeport(config.path(), &connect_args(&central, &instance2, &proxy_url, &trust), Some("wrong")).await;
    assert_proxy_failed(&wrong, &proxy_url, "wrong proxy credentials");

    drop(proxy);
    server.shutdown().await;
}

#[tokio::test]
async fn a_socks5_proxy_carries_the_connection_and_refuses_a_wrong_password() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let central = server.central_url().to_string();
    let instance2 = origin(&server, "instance2");
    let proxy = microsocks();
    let proxy_url = format!("socks5://127.0.0.1:{}", proxy.port);
    let user = ["--proxy-user", PROXY_USER];

    let through =
        homeport(config.path(), &connect_args(&central, &instance2, &proxy_url, &user), Some(PROXY_PASSWORD)).await;
    assert_eq!(code(&through), 0, "connects through SOCKS5: {}", String::from_utf8_lossy(&through.stdout));
    let log = proxy.log();
    for origin in [&central, &instance2] {
        let port = port_of(origin);
        assert!(log.contains(&format!("connected to 127.0.0.1:{port}")), "the proxy connected to {origin}: {log}");
    }

    let wrong = homeport(config.path(), &connect_args(&central, &instance2, &proxy_url, &user), Some("wrong")).await;
    assert_proxy_failed(&wrong, &proxy_url, "wrong SOCKS5 password");

    drop(proxy);
    server.shutdown().await;
}

#[tokio::test]
async fn a_closed_proxy_port_is_the_proxys_failure_not_the_servers() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let central = server.central_url().to_string();
    let instance2 = origin(&server, "instance2");
    for scheme in ["http", "socks5"] {
        let proxy_url = format!("{scheme}://127.0.0.1:{}", free_port());
        let refused = homeport(config.path(), &connect_args(&central, &instance2, &proxy_url, &[]), None).await;
        let message = assert_proxy_failed(&refused, &proxy_url, "nothing listens there");
        let said = if scheme == "http" { "refused" } else { "the connection to the proxy failed" };
        assert!(message.contains(said), "says what happened: {message}");
    }

    let bad = homeport(config.path(), &connect_args(&central, &instance2, "ftp://127.0.0.1:21", &[]), None).await;
    assert_eq!(code(&bad), 2, "an unusable proxy URL is bad input: {}", String::from_utf8_lossy(&bad.stdout));
    let no_password = homeport(
        config.path(),
        &connect_args(&central, &instance2, "http://127.0.0.1:1", &["--proxy-user", "x"]),
        None,
    )
    .await;
    assert_eq!(code(&no_password), 2, "--proxy-user without HOMEPORT_PROXY_PASSWORD is bad input");
    server.shutdown().await;
}

#[tokio::test]
async fn environment_proxies_never_get_loopback_traffic() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let central = server.central_url().to_string();
    let instance2 = origin(&server, "instance2");
    let proxy = tinyproxy();
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    let env = every_proxy_variable(&proxy_url);
    let args = connect_args(&central, &instance2, "", &[]);
    // Without --proxy: the environment's proxy (which would answer 407) is not asked.
    let direct = homeport_with(config.path(), &args[..args.len() - 2], None, &env).await;
    assert_eq!(
        code(&direct),
        0,
        "loopback bypasses HTTP(S)_PROXY/ALL_PROXY: {}",
        String::from_utf8_lossy(&direct.stdout)
    );
    assert!(!proxy.log().contains("Request (file descriptor"), "the proxy saw nothing: {}", proxy.log());

    // Any other server goes through the environment's proxy (reqwest's reading of it is replaced
    // by Homeport's, so this checks that it is still honoured); this one asks for credentials.
    let remote = "https://cloud.homeport-test.invalid/";
    let args = ["connect", remote, "--user", "alice", "--password-stdin", "--no-store", "--json"];
    let via_environment = homeport_with(config.path(), &args, None, &env).await;
    let failure = json(&via_environment);
    assert_eq!(code(&via_environment), 3, "{failure}");
    assert_eq!(failure["error"]["detail"]["reason"], "proxy", "the environment's proxy is named: {failure}");
    let message = failure["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("from the environment") && message.contains("407"), "{message}");
    assert!(
        proxy.log().contains("CONNECT cloud.homeport-test.invalid:443"),
        "the request went to the environment's proxy: {}",
        proxy.log()
    );
    drop(proxy);
    server.shutdown().await;
}

#[tokio::test]
async fn a_loopback_name_with_a_trailing_dot_never_goes_through_the_environments_proxy() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let port = server.central_url().port().expect("a port");
    let instance2 = origin(&server, "instance2");
    let proxy = tinyproxy();
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    let env = every_proxy_variable(&proxy_url);
    // `localhost.` is `localhost` (a fully qualified name): plain http without asking, so no proxy.
    let dotted = format!("http://localhost.:{port}/");
    let args = connect_args(&dotted, &instance2, "", &[]);
    let direct = homeport_with(config.path(), &args[..args.len() - 2], None, &env).await;
    let answer = String::from_utf8_lossy(&direct.stdout);
    assert!(
        !proxy.log().contains("Request (file descriptor"),
        "a request for {dotted} went to HTTP_PROXY: {}\n{answer}",
        proxy.log()
    );
    assert_eq!(code(&direct), 0, "{dotted} connects directly, as localhost does: {answer}");
    drop(proxy);
    server.shutdown().await;
}

/// Every proxy variable a program may read (upper and lower case), all naming `proxy_url`.
fn every_proxy_variable(proxy_url: &str) -> Vec<(&'static str, &str)> {
    ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"]
        .into_iter()
        .map(|name| (name, proxy_url))
        .collect()
}
