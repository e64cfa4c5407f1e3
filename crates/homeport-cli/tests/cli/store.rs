//! Accounts are never lost or corrupted: `homeport` processes killed with SIGKILL while they save
//! or remove, several writing at once, the same account connected twice, a moved account
//! re-verified, a locked keyring. The keyring is inspected with libsecret's `secret-tool`, not
//! through Homeport.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use homeport_engine::Account;
use homeport_lookup::{LookupServer, Scenario};
use tokio::io::AsyncWriteExt as _;
use tokio::process::Command;

use crate::{code, homeport, json, lookup, origin, HOMEPORT};

const USERS: [&str; 3] = ["test@instance1.com", "test@instance2.com", "test@instance3.com"];

/// Which of `ids` have an entry under service `homeport` in the keyring. Asked per id: all
/// tests share one keyring, and `secret-tool search --all` fails when another test deletes an
/// item while it reads.
async fn keyring_ids(ids: &[String]) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for id in ids {
        let output = Command::new("secret-tool")
            .args(["lookup", "service", "homeport", "username", id])
            .output()
            .await
            .expect("secret-tool (libsecret-tools) is installed by ./dev.sh");
        match output.status.code() {
            Some(0) => {
                found.insert(id.clone());
            }
            Some(1) if output.stderr.is_empty() => {}
            _ => panic!("secret-tool lookup failed: {output:?}"),
        }
    }
    found
}

/// The ids in accounts.json; it must parse (as a whole, into full accounts) whenever it exists.
fn file_ids(config: &Path, context: &str) -> BTreeSet<String> {
    let path = config.join("accounts.json");
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return BTreeSet::new(),
        Err(e) => panic!("{context}: accounts.json is readable: {e}"),
    };
    let file: serde_json::Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{context}: accounts.json parses ({e}): {}", String::from_utf8_lossy(&bytes)));
    let accounts: Vec<Account> = serde_json::from_value(file["accounts"].clone())
        .unwrap_or_else(|e| panic!("{context}: accounts.json holds whole accounts ({e})"));
    let ids: BTreeSet<String> = accounts.iter().map(|a| a.id.clone()).collect();
    assert_eq!(ids.len(), accounts.len(), "{context}: no account twice in accounts.json");
    ids
}

/// The ids an interrupted writer journalled (their secrets may be there without an account).
fn journal_ids(config: &Path) -> BTreeSet<String> {
    match std::fs::read(config.join("accounts.pending")) {
        Ok(bytes) => serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v["ids"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|id| id.as_str().map(str::to_owned))
            .collect(),
        Err(_) => BTreeSet::new(),
    }
}

fn connect_args(server: &LookupServer, user: &str) -> Vec<String> {
    let instance = format!("instance{}", &user["test@instance".len()..user.len() - ".com".len()]);
    [
        "connect",
        server.central_url().as_str(),
        "--user",
        user,
        "--password-stdin",
        "--approve-redirect",
        &origin(server, &instance),
        "--json",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// A tiny deterministic generator (xorshift64*): the same kill moments on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound.max(1)
    }
}

#[derive(Default, Debug)]
struct Kills {
    /// Processes that died of SIGKILL.
    killed: u32,
    /// Of those: accounts.json already showed the new state.
    after_write: u32,
    /// Of those: a journal was left (killed inside the store's write).
    mid_write: u32,
    /// Runs that finished before the signal.
    finished: u32,
}

/// One lane: its own lookup server (so its own account ids) and config folder. Each run connects
/// a user who is not stored or removes one who is, and is killed at a moment spread over the
/// run's length; after each, accounts.json is the old or the new state, every account in it has
/// its secret, a secret without an account is journalled, and after the next `homeport` run no
/// such secret is left.
async fn kill_lane(lane: u64, wanted: u32) -> Kills {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let config = config.path();
    // Calibrate: one whole connect per user (it also tells the ids) and one whole remove; the
    // median of each is the length kills are spread over.
    let mut ids = Vec::new();
    let mut connect_times = Vec::new();
    for user in USERS {
        let args = connect_args(&server, user);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let started = Instant::now();
        let output = homeport(config, &args, Some("secret")).await;
        connect_times.push(started.elapsed());
        assert_eq!(code(&output), 0, "lane {lane}: {user} connects: {}", String::from_utf8_lossy(&output.stderr));
        ids.push(json(&output)["account"]["id"].as_str().expect("id").to_owned());
    }
    let mut remove_times = Vec::new();
    for id in &ids {
        let started = Instant::now();
        assert_eq!(code(&homeport(config, &["accounts", "remove", id], None).await), 0, "lane {lane}: removed");
        remove_times.push(started.elapsed());
    }
    connect_times.sort();
    remove_times.sort();
    let (connect_time, remove_time) = (connect_times[1], remove_times[1]);
    let ours = |set: BTreeSet<String>| -> BTreeSet<String> { set.into_iter().filter(|id| ids.contains(id)).collect() };
    assert!(keyring_ids(&ids).await.is_empty(), "lane {lane}: removed from the keyring too");

    eprintln!("lane {lane}: a connect takes {connect_time:?}, a remove {remove_time:?}");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (lane + 1));
    let mut kills = Kills::default();
    let mut before = BTreeSet::new();
    for run in 0..wanted * 3 {
        if kills.killed >= wanted {
            break;
        }
        let which = usize::try_from(rng.below(3)).expect("small");
        let id = &ids[which];
        let removing = before.contains(id);
        let (mut command, length) = if removing {
            let mut command = Command::new(HOMEPORT);
            command.args(["accounts", "remove", id]);
            (command, remove_time)
        } else {
            let mut command = Command::new(HOMEPORT);
            command.args(connect_args(&server, USERS[which]));
            (command, connect_time)
        };
        let mut child = command
            .env("HOMEPORT_CONFIG_DIR", config)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("homeport runs");
        let mut stdin = child.stdin.take().expect("stdin");
        let _ = stdin.write_all(b"secret\n").await;
        drop(stdin);
        // Anywhere from the start to near the usual end (the save is the last part; some runs
        // end sooner and are not counted as kills).
        let length = u64::try_from(length.as_micros()).unwrap_or(u64::MAX);
        tokio::time::sleep(Duration::from_micros(rng.below(length - length / 10))).await;
        let _ = child.start_kill();
        let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .expect("a killed homeport is gone at once")
            .expect("status");
        let context = format!("lane {lane}, run {run} ({} {id})", if removing { "remove" } else { "connect" });
        let mut after = before.clone();
        if removing {
            after.remove(id);
        } else {
            after.insert(id.clone());
        }

        // At the moment of the kill.
        let in_file = ours(file_ids(config, &context));
        assert!(
            in_file == before || in_file == after,
            "{context}: the old state {before:?} or the new {after:?}, not {in_file:?}"
        );
        let secrets = keyring_ids(&ids).await;
        let journal = journal_ids(config);
        assert!(
            in_file.is_subset(&secrets),
            "{context}: every stored account has its secret: {in_file:?} vs {secrets:?}"
        );
        for orphan in secrets.difference(&in_file) {
            assert!(journal.contains(orphan), "{context}: a secret without an account ({orphan}) is journalled");
        }
        use std::os::unix::process::ExitStatusExt as _;
        if status.signal() == Some(9) {
            kills.killed += 1;
            kills.after_write += u32::from(in_file == after);
            kills.mid_write += u32::from(!journal.is_empty());
        } else {
            assert!(status.success(), "{context}: finished before the kill, successfully: {status:?}");
            kills.finished += 1;
        }

        // The next run of Homeport (here: a list) finishes what the killed one left.
        let list = homeport(config, &["accounts", "list", "--json"], None).await;
        assert_eq!(code(&list), 0, "{context}: list after the kill: {}", String::from_utf8_lossy(&list.stderr));
        let listed: BTreeSet<String> =
            json(&list).as_array().expect("array").iter().map(|a| a["id"].as_str().expect("id").to_owned()).collect();
        assert_eq!(listed, in_file, "{context}: list shows the file");
        assert_eq!(keyring_ids(&ids).await, in_file, "{context}: no orphaned keyring entry after the next open");
        assert!(!config.join("accounts.pending").exists(), "{context}: the journal is finished");
        before = in_file;
    }
    for id in &before {
        assert_eq!(code(&homeport(config, &["accounts", "remove", id], None).await), 0, "clean up");
    }
    kills
}

#[tokio::test]
async fn sigkill_while_saving_or_removing_never_corrupts_accounts_or_orphans_a_secret() {
    let started = Instant::now();
    // Three lanes in parallel (a run mostly waits on sockets and D-Bus), 70 kills each.
    let (a, b, c) = tokio::join!(kill_lane(0, 70), kill_lane(1, 70), kill_lane(2, 70));
    let killed = a.killed + b.killed + c.killed;
    eprintln!("kills: {a:?} {b:?} {c:?}; {killed} SIGKILLs in {:.1} s", started.elapsed().as_secs_f64());
    assert!(killed >= 200, "at least 200 processes killed: {killed}");
    assert!(
        a.mid_write + b.mid_write + c.mid_write > 0,
        "some kills landed inside the store's write (else the test proves little): {a:?} {b:?} {c:?}"
    );
}

/// Six processes at once on one config folder, each user twice: the file lock serializes them,
/// no write is lost, and exactly one of each pair found the account already stored.
#[tokio::test]
async fn concurrent_homeport_processes_are_serialized_and_lose_no_write() {
    let server = lookup(Scenario::default()).await;
    for round in 0..3 {
        let config = tempfile::tempdir().expect("temp");
        let runs: Vec<_> = USERS
            .iter()
            .chain(USERS.iter())
            .map(|user| {
                let args = connect_args(&server, user);
                let config = config.path().to_owned();
                tokio::spawn(async move {
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    homeport(&config, &args, Some("secret")).await
                })
            })
            .collect();
        let mut outputs = Vec::new();
        for run in runs {
            outputs.push(run.await.expect("join"));
        }
        let mut replaced = 0;
        for output in &outputs {
            assert_eq!(code(output), 0, "round {round}: {}", String::from_utf8_lossy(&output.stderr));
            replaced += u32::from(json(output)["replaced"] == true);
        }
        let stored = file_ids(config.path(), &format!("round {round}"));
        let expected: BTreeSet<String> =
            outputs.iter().map(|o| json(o)["account"]["id"].as_str().expect("id").to_owned()).collect();
        assert_eq!(expected.len(), 3, "three users, three accounts");
        assert_eq!(stored, expected, "round {round}: every write is in accounts.json");
        assert_eq!(replaced, 3, "round {round}: of each pair, one added and one replaced (serialized)");
        let secrets = keyring_ids(&expected.iter().cloned().collect::<Vec<_>>()).await;
        assert_eq!(secrets, expected, "round {round}: every secret is in the keyring");
        for id in &expected {
            assert_eq!(code(&homeport(config.path(), &["accounts", "remove", id], None).await), 0, "clean up");
        }
    }
}

/// The same user at the same instance is the same account: connecting it again says so and
/// updates its login instead of adding a second one.
#[tokio::test]
async fn connecting_an_account_again_says_it_is_already_connected_and_updates_its_login() {
    let server = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let args = connect_args(&server, "test@instance2.com");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let first = homeport(config.path(), &args, Some("secret")).await;
    assert_eq!(code(&first), 0, "{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!((json(&first)["stored"].clone(), json(&first)["replaced"].clone()), (true.into(), false.into()));
    let id = json(&first)["account"]["id"].as_str().expect("id").to_owned();

    let story_args: Vec<&str> = args.iter().copied().filter(|a| *a != "--json").collect();
    let again = homeport(config.path(), &story_args, Some("secret")).await;
    let story = String::from_utf8_lossy(&again.stdout);
    assert_eq!(code(&again), 0, "{story}");
    assert!(
        story.contains(&format!("already connected as account {id}: updated its login")),
        "people are told it is the same account: {story}"
    );
    let third = homeport(config.path(), &args, Some("secret")).await;
    assert_eq!(json(&third)["replaced"], true, "scripts get replaced: true");
    assert_eq!(file_ids(config.path(), "after three connects"), BTreeSet::from([id.clone()]), "one account");
    assert_eq!(code(&homeport(config.path(), &["accounts", "remove", &id], None).await), 0, "clean up");
}

/// `accounts verify` of an account whose central server now redirects permanently to another
/// instance: refused with the flag that approves it; approved, the account moves there.
#[tokio::test]
async fn verify_asks_before_following_a_permanent_move_then_stores_the_new_instance() {
    let old = lookup(Scenario::default()).await;
    let config = tempfile::tempdir().expect("temp");
    let args = connect_args(&old, "test@instance2.com");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let connected = homeport(config.path(), &args, Some("secret")).await;
    assert_eq!(code(&connected), 0, "{}", String::from_utf8_lossy(&connected.stderr));
    let old_id = json(&connected)["account"]["id"].as_str().expect("id").to_owned();

    // The account's central server now sends it elsewhere (another lookup server's instance).
    let moved = lookup(Scenario { redirect_status: 308, ..Scenario::default() }).await;
    let path = config.path().join("accounts.json");
    let mut file: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    file["accounts"][0]["entered_address"] = moved.central_url().as_str().into();
    file["accounts"][0]["server_url"] = moved.central_url().as_str().into();
    std::fs::write(&path, serde_json::to_vec(&file).expect("json")).expect("write");

    let new_instance = origin(&moved, "instance2");
    let asked = homeport(config.path(), &["accounts", "verify", &old_id, "--json"], None).await;
    let refusal = json(&asked);
    assert_eq!((code(&asked), refusal["error"]["code"].clone()), (7, "policy_refused".into()), "{refusal}");
    let hint = refusal["error"]["hint"].as_str().unwrap_or_default();
    assert!(
        hint.contains(&format!("--approve-redirect {new_instance}")) && hint.contains("permanently"),
        "the hint says it moved for good and how to approve: {hint}"
    );
    assert_eq!(file_ids(config.path(), "after the refusal"), BTreeSet::from([old_id.clone()]), "nothing changed");

    let approved =
        homeport(config.path(), &["accounts", "verify", &old_id, "--approve-redirect", &new_instance, "--json"], None)
            .await;
    assert_eq!(code(&approved), 0, "{}", String::from_utf8_lossy(&approved.stderr));
    let result = json(&approved);
    assert_eq!(result["account"]["instance_url"], format!("{new_instance}/"), "stored with its new instance");
    assert_eq!(result["moved_from"]["id"], old_id.as_str(), "and says where it came from: {result}");
    let new_id = result["account"]["id"].as_str().expect("id").to_owned();
    assert_ne!(new_id, old_id, "ids follow the instance");
    assert_eq!(file_ids(config.path(), "after the move"), BTreeSet::from([new_id.clone()]), "one account, moved");
    let ids = [old_id.clone(), new_id.clone()];
    assert_eq!(keyring_ids(&ids).await, BTreeSet::from([new_id.clone()]), "the secret moved with it");
    assert_eq!(code(&homeport(config.path(), &["accounts", "remove", &new_id], None).await), 0, "clean up");
}

/// A keyring that is there but locked (gnome-keyring's login collection locked over D-Bus, no
/// screen for its unlock prompt): exit code 8, "locked", and nothing stored. It runs in a D-Bus
/// session and gnome-keyring of its own, as locking the shared one would disturb other tests.
#[tokio::test]
async fn a_locked_keyring_is_a_clear_error_and_stores_nothing() {
    let server = lookup(Scenario::default()).await;
    let scratch = tempfile::tempdir().expect("temp");
    let config = scratch.path().join("config");
    for dir in ["home", "data", "xdg"] {
        std::fs::create_dir_all(scratch.path().join(dir)).expect("dir");
    }
    let runtime = scratch.path().join("runtime");
    std::fs::create_dir(&runtime).expect("dir");
    std::fs::set_permissions(&runtime, std::os::unix::fs::PermissionsExt::from_mode(0o700)).expect("mode");
    let script = r#"
        eval "$(printf scratch | gnome-keyring-daemon --unlock --components=secrets)" >/dev/null
        dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
            org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login >/dev/null
        exec "$@"
    "#;
    let mut child = Command::new("dbus-run-session")
        .args(["--", "bash", "-c", script, "locked-keyring", HOMEPORT])
        .args(connect_args(&server, "test@instance2.com"))
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        // Its own daemon only: the suite's GNOME_KEYRING_CONTROL would point the
        // `gnome-keyring-daemon --unlock` above at the shared daemon's control socket.
        .env_remove("GNOME_KEYRING_CONTROL")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("HOME", scratch.path().join("home"))
        .env("XDG_DATA_HOME", scratch.path().join("data"))
        .env("XDG_CONFIG_HOME", scratch.path().join("xdg"))
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("HOMEPORT_CONFIG_DIR", &config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("dbus-run-session (./dev.sh installs dbus)");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"secret\n").await.expect("password");
    drop(stdin);
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("a locked keyring does not hang Homeport")
        .expect("output");
    let result = json(&output);
    assert_eq!((code(&output), result["error"]["code"].clone()), (8, "keyring_unavailable".into()), "{result}");
    assert_eq!(result["error"]["detail"]["keyring"], "locked", "told apart from a missing keyring: {result}");
    let message = result["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("unlock"), "says what to do: {message}");
    assert!(!config.join("accounts.json").exists(), "no account without its secret");
    assert!(!config.join("accounts.pending").exists(), "a failed save leaves no journal behind");
}
