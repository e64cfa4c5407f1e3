//! GNOME's settings read from a real `gsettings` on a private keyfile backend (a temporary
//! XDG_CONFIG_HOME), so the session's own settings are never read or changed.

use std::process::Command;

use super::*;

/// A private GSettings backend: `gsettings set` writes there, [`GnomeProxy::read_with`] reads it.
struct PrivateBackend {
    dir: tempfile::TempDir,
}

impl PrivateBackend {
    fn new() -> Self {
        PrivateBackend { dir: tempfile::tempdir().expect("temp dir") }
    }

    fn envs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("GSETTINGS_BACKEND", "keyfile".to_owned()),
            ("XDG_CONFIG_HOME", self.dir.path().display().to_string()),
            // No D-Bus: the keyfile backend needs none, and none of the session's is touched.
            ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/homeport-test-bus".to_owned()),
        ]
    }

    fn set(&self, schema: &str, key: &str, value: &str) {
        let output =
            Command::new("gsettings").args(["set", schema, key, value]).envs(self.envs()).output().expect(
                "gsettings is missing: apt-get install libglib2.0-bin gsettings-desktop-schemas (./dev.sh does)",
            );
        assert!(
            output.status.success(),
            "gsettings set {schema} {key} {value}: {} (the schema comes from gsettings-desktop-schemas)",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn read(&self) -> GnomeProxy {
        let envs = self.envs();
        let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        GnomeProxy::read_with(&envs).expect("gsettings lists org.gnome.system.proxy (gsettings-desktop-schemas)")
    }
}

#[test]
fn manual_settings_are_read_from_a_private_gsettings_backend() {
    let backend = PrivateBackend::new();
    assert_eq!(backend.read().mode, GnomeMode::None, "a fresh backend: GNOME's default, no proxy");
    assert!(backend.read().proxy_urls().is_empty());
    backend.set(SCHEMA, "mode", "manual");
    backend.set("org.gnome.system.proxy.http", "host", "proxy.corp.example");
    backend.set("org.gnome.system.proxy.http", "port", "3128");
    backend.set("org.gnome.system.proxy.https", "host", "secure.corp.example");
    backend.set("org.gnome.system.proxy.https", "port", "3129");
    backend.set("org.gnome.system.proxy.socks", "host", "::1");
    backend.set("org.gnome.system.proxy.socks", "port", "1080");
    backend.set(SCHEMA, "ignore-hosts", "['localhost', '*.intranet.example', '10.0.0.0/8']");
    let read = backend.read();
    assert_eq!(read.mode, GnomeMode::Manual);
    assert_eq!(read.http, Some(("proxy.corp.example".to_owned(), 3128)));
    assert_eq!(
        read.proxy_urls(),
        vec![
            (Scheme::Http, "http://proxy.corp.example:3128".to_owned()),
            (Scheme::Https, "http://secure.corp.example:3129".to_owned()),
            (Scheme::All, "socks5h://[::1]:1080".to_owned()),
        ],
        "an HTTPS proxy is an HTTP proxy that tunnels; IPv6 hosts get brackets"
    );
    assert_eq!(read.no_proxy(), "localhost,.intranet.example,10.0.0.0/8", "*.domain becomes .domain");
    let words = read.describe();
    assert!(words.starts_with("GNOME's proxy settings: http via http://proxy.corp.example:3128"), "{words}");
    assert!(words.contains("not for localhost, *.intranet.example, 10.0.0.0/8"), "{words}");
}

#[test]
fn a_pac_file_is_named_as_not_evaluated_and_means_direct() {
    let backend = PrivateBackend::new();
    backend.set(SCHEMA, "mode", "auto");
    backend.set(SCHEMA, "autoconfig-url", "http://wpad.corp.example/proxy.pac");
    let read = backend.read();
    assert_eq!(read.mode, GnomeMode::Auto);
    assert!(read.proxy_urls().is_empty(), "no proxy is guessed from a PAC file");
    assert_eq!(
        read.describe(),
        "GNOME's proxy settings name a PAC file (http://wpad.corp.example/proxy.pac), which Homeport does not evaluate: it connects directly"
    );
}

#[test]
fn use_same_proxy_sends_https_through_the_http_proxy() {
    let listing = "org.gnome.system.proxy mode 'manual'\norg.gnome.system.proxy use-same-proxy true\n\
        org.gnome.system.proxy.http host 'proxy.example'\norg.gnome.system.proxy.http port 8080\n\
        org.gnome.system.proxy.https host ''\norg.gnome.system.proxy.https port 0\n\
        org.gnome.system.proxy ignore-hosts @as []\n";
    let read = GnomeProxy::parse(listing);
    assert_eq!(
        read.proxy_urls(),
        vec![(Scheme::Http, "http://proxy.example:8080".into()), (Scheme::Https, "http://proxy.example:8080".into())]
    );
    assert!(read.ignore_hosts.is_empty(), "an empty array");
    let manual_without_host = GnomeProxy::parse("org.gnome.system.proxy mode 'manual'\n");
    assert!(manual_without_host.describe().contains("no proxy host is set"), "{}", manual_without_host.describe());
}

#[tokio::test]
async fn gnome_manual_proxy_carries_a_request() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let proxy = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("the request comes to the proxy");
        let mut buffer = vec![0; 4096];
        let n = socket.read(&mut buffer).await.expect("read");
        socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").await.expect("write");
        String::from_utf8_lossy(&buffer[..n]).into_owned()
    });
    let listing = format!(
        "org.gnome.system.proxy mode 'manual'\norg.gnome.system.proxy.http host '127.0.0.1'\n\
         org.gnome.system.proxy.http port {port}\n"
    );
    let mut builder = reqwest::Client::builder().no_proxy();
    for proxy in crate::proxy::gnome_proxies(&GnomeProxy::parse(&listing)) {
        builder = builder.proxy(proxy);
    }
    let client = builder.build().expect("client");
    // Never resolved: an HTTP proxy is asked for the whole URL.
    let answer = client.get("http://homeport-gnome-proxy.invalid/status.php").send().await.expect("through the proxy");
    assert_eq!(answer.status(), 200);
    let request = proxy.await.expect("proxy task");
    assert!(request.starts_with("GET http://homeport-gnome-proxy.invalid/status.php HTTP/1.1"), "{request}");
}
