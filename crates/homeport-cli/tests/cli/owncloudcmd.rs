//! A real sync client against a demo instance: the ownCloud command-line client (Debian `owncloud-client-cmd`)
//! syncs instance2's home into a folder, and a second run finds nothing to do. Our own WebDAV tests are necessary,
//! never sufficient: this is the client that refused every file without an `ETag` ("No E-Tag received from
//! server, check Proxy/Gateway"). See docs/testing.md ("Real peers") and docs/protocols/owncloud-redirect.md.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, UNIX_EPOCH};

use homeport_lookup::{LookupServer, Scenario};
use tokio::process::Command;

use super::lookup;

/// The demo user and the one password of the ownCloud demo (crates/homeport-lookup/src/people.rs).
const USER: &str = "test@instance2.com";
const PASSWORD: &str = "secret";

/// The demo home's files and what each holds (crates/homeport-lookup/src/owncloud/webdav.rs).
const DEMO_FILES: [(&str, &str); 3] = [
    ("Documents/Example.odt", "Homeport demo file: Documents/Example.odt\n"),
    ("Photos/Paris.jpg", "Homeport demo file: Photos/Paris.jpg\n"),
    ("ownCloud Manual.pdf", "Homeport demo file: ownCloud Manual.pdf\n"),
];

/// `getlastmodified` of every demo file: Tue, 14 Nov 2023 10:21:03 GMT.
const DEMO_MTIME: u64 = 1_699_957_263;

/// One run of `owncloudcmd`: its exit code and everything it logged.
struct Sync {
    code: i32,
    log: String,
}

/// `owncloudcmd --non-interactive [--trust] -u USER -p PASSWORD LOCAL URL`, in a scratch HOME, no proxy, bounded
/// in time. `--trust` is the documented way to accept a self-signed certificate (owncloudcmd 2.11 accepts any
/// certificate even without it: its `SimpleSslErrorHandler` trusts every TLS error).
async fn owncloudcmd(scratch: &Path, local: &Path, url: &str, trust: bool) -> Sync {
    // Debian's owncloud-client-cmd ships no system exclude list (the GUI package has it), and owncloudcmd aborts
    // without one: an empty list of our own excludes nothing.
    let exclude = scratch.join("sync-exclude.lst");
    std::fs::write(&exclude, "").expect("write the exclude list");
    let mut command = Command::new("owncloudcmd");
    command
        .arg("--non-interactive")
        .args(trust.then_some("--trust"))
        .arg("--exclude")
        .arg(&exclude)
        .args(["-u", USER, "-p", PASSWORD])
        .arg(local)
        .arg(url)
        .env("HOME", scratch)
        .env("XDG_CONFIG_HOME", scratch.join("config"))
        .env("XDG_DATA_HOME", scratch.join("data"))
        .env("XDG_CACHE_HOME", scratch.join("cache"));
    for proxy in ["http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"] {
        command.env_remove(proxy);
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "owncloudcmd could not be started ({e}): the real sync client is needed for this test; ./dev.sh test \
                 installs it (apt-get install owncloud-client-cmd)"
            )
        });
    let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("owncloudcmd finishes within two minutes")
        .expect("owncloudcmd's output");
    let mut log = String::from_utf8_lossy(&output.stdout).into_owned();
    log.push_str(&String::from_utf8_lossy(&output.stderr));
    Sync { code: output.status.code().expect("owncloudcmd exited, not killed"), log }
}

/// The files under `dir` (relative paths), without the client's own hidden journal; with their inode and mtime.
fn files_on_disk(dir: &Path) -> BTreeMap<String, (u64, u64)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, (u64, u64)>) {
        for entry in std::fs::read_dir(dir).expect("read the sync folder") {
            let path: PathBuf = entry.expect("a folder entry").path();
            let relative = path.strip_prefix(root).expect("below the root").to_string_lossy().into_owned();
            if relative.starts_with('.') {
                continue;
            }
            let metadata = std::fs::metadata(&path).expect("metadata");
            if metadata.is_dir() {
                walk(root, &path, out);
            } else {
                let mtime = metadata.modified().expect("mtime").duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
                out.insert(relative, (metadata.ino(), mtime));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The file GETs instance2 received so far (paths below the user's home).
fn file_downloads(server: &LookupServer) -> Vec<String> {
    server
        .requests()
        .into_iter()
        .filter(|request| request.server == "instance2" && request.method == "GET")
        .map(|request| request.path)
        .filter(|path| path.contains("/remote.php/") && !path.ends_with('/'))
        .collect()
}

/// How many PROPFINDs the servers received so far.
fn propfinds(server: &LookupServer) -> usize {
    server.requests().iter().filter(|request| request.method == "PROPFIND").count()
}

#[tokio::test]
async fn the_real_owncloud_client_syncs_a_demo_instance_and_a_second_run_downloads_nothing() {
    sync_twice(Scenario::default(), false).await;
}

/// The example deployment's layout (`https://<central>/instance2/`) with the self-signed certificate: every href
/// carries the mount path, and the client is told to trust the self-signed certificate (`--trust`).
#[tokio::test]
async fn the_real_owncloud_client_syncs_a_path_instance_over_https() {
    sync_twice(Scenario { tls: true, path_instances: true, ..Scenario::default() }, true).await;
}

/// Syncs instance2's home twice into one folder: the first run brings every demo file, the second nothing.
async fn sync_twice(scenario: Scenario, trust: bool) {
    let server = lookup(scenario).await;
    // The instance's root: owncloudcmd finds status.php, the capabilities and the user's WebDAV path itself. (Not
    // the central server: owncloudcmd asks it for capabilities, which only the instances have.)
    let url = server.instance_urls()["instance2"].to_string();
    let scratch = tempfile::tempdir().expect("scratch HOME");
    let local = tempfile::tempdir().expect("sync folder");

    let first = owncloudcmd(scratch.path(), local.path(), &url, trust).await;
    assert!(
        !first.log.contains("No E-Tag received"),
        "the client must not refuse a file for a missing ETag:\n{}",
        first.log
    );
    assert_eq!(first.code, 0, "the first sync of {url} succeeds (rc 0):\n{}", first.log);
    let synced = files_on_disk(local.path());
    assert_eq!(
        synced.keys().map(String::as_str).collect::<Vec<_>>(),
        DEMO_FILES.map(|(path, _)| path),
        "exactly the demo home's files are on disk"
    );
    for (path, content) in DEMO_FILES {
        let on_disk = std::fs::read_to_string(local.path().join(path)).expect("a synced file is readable");
        assert_eq!(on_disk, content, "{path}: the content the instance serves");
        assert_eq!(synced[path].1, DEMO_MTIME, "{path}: the server's last-modified time, not the download's");
    }
    assert!(
        first.log.contains("PropagateDownloadFile"),
        "the log names each download (the second run is checked for their absence):\n{}",
        first.log
    );
    let downloads = file_downloads(&server);
    let listed_by_the_first_run = propfinds(&server);
    assert_eq!(downloads.len(), DEMO_FILES.len(), "one GET per file on the first run: {downloads:?}");

    let second = owncloudcmd(scratch.path(), local.path(), &url, trust).await;
    assert_eq!(second.code, 0, "the second sync succeeds (rc 0):\n{}", second.log);
    assert_eq!(
        file_downloads(&server),
        downloads,
        "the second run downloads nothing: the ETags and sizes are unchanged:\n{}",
        second.log
    );
    assert!(!second.log.contains("PropagateDownloadFile"), "the second run propagates no download:\n{}", second.log);
    assert_eq!(files_on_disk(local.path()), synced, "the files are untouched (same inodes and times)");
    assert!(propfinds(&server) > listed_by_the_first_run, "the second run asked the server (PROPFIND) all the same");
    server.shutdown().await;
}
