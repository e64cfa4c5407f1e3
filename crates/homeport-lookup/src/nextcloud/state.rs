//! What the Global Site Selector and the nodes share: the Login Flow v2 flows, the browser sessions of the GSS's
//! login pages and the app passwords each node accepts (`docs/protocols/nextcloud-login-flow.md`).
//!
//! In a real Global Scale set-up the GSS asks the node that holds the account to create the app password; here
//! one table stands for both sides, and every app password names the node that may accept it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use url::Url;

use crate::people::{NextcloudUser, People};
use crate::Fault;

/// How long a Login Flow v2 flow lives: Nextcloud's `LoginFlowV2Service` drops flows older than 20 minutes.
pub(crate) const FLOW_LIFETIME: Duration = Duration::from_secs(20 * 60);
/// Past this many flows, sessions or app passwords the oldest (or an arbitrary) one is dropped: a `homeport
/// mock` that runs for days keeps bounded memory.
const MAX_ENTRIES: usize = 10_000;
/// Nextcloud's tokens: poll and login tokens of 128 characters, state tokens of 64, app passwords of 72, all of
/// `[A-Za-z0-9]` (`ISecureRandom::CHAR_UPPER . CHAR_LOWER . CHAR_DIGITS`).
const FLOW_TOKEN_LENGTH: usize = 128;
pub(crate) const STATE_TOKEN_LENGTH: usize = 64;
const APP_PASSWORD_LENGTH: usize = 72;
const SESSION_ID_LENGTH: usize = 32;

/// One Login Flow v2 flow, by its login token.
#[derive(Debug)]
struct Flow {
    poll_token: String,
    /// The client's `User-Agent`, shown on the pages ("… wants to access your account").
    client: String,
    created: Instant,
    /// Set by [`Nextcloud::expire_all_flows`]: the flow counts as older than its lifetime.
    expired: bool,
    granted: Option<Credentials>,
}

/// What the poll answers once the person granted access.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    /// The node that holds the account, without trailing slash.
    pub(crate) server: String,
    pub(crate) login_name: &'static str,
    pub(crate) app_password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("server", &self.server)
            .field("login_name", &self.login_name)
            .field("app_password", &"<redacted>")
            .finish()
    }
}

/// A browser session on the GSS's pages (Nextcloud's PHP session: the login token, the state token, who logged in
/// and the CSRF `requesttoken`).
#[derive(Debug, Default)]
pub(crate) struct Session {
    pub(crate) login_token: Option<String>,
    pub(crate) state_token: Option<String>,
    pub(crate) user: Option<&'static NextcloudUser>,
    pub(crate) request_token: String,
}

#[derive(Debug)]
struct AppPassword {
    user: &'static NextcloudUser,
}

#[derive(Debug, Default)]
struct Tables {
    flows: HashMap<String, Flow>,
    sessions: HashMap<String, Session>,
    app_passwords: HashMap<String, AppPassword>,
}

/// The Nextcloud systems of one lookup server.
#[derive(Debug)]
pub(crate) struct Nextcloud {
    gss_url: Url,
    /// Each node's base URL, with a trailing slash.
    node_urls: BTreeMap<String, Url>,
    pub(crate) fault: Option<Fault>,
    /// Who has a Nextcloud account: the lookup server's people.
    pub(crate) people: &'static People,
    tables: Mutex<Tables>,
}

/// How the credentials of a request to a node stand.
#[derive(Debug)]
pub(crate) enum NodeLogin {
    /// No Basic header.
    Anonymous,
    /// An app password this node issued.
    AppPassword { user: &'static NextcloudUser, app_password: String },
    /// The account's own password: refused everywhere but `getapppassword`.
    AccountPassword(&'static NextcloudUser),
    /// Anything else.
    Wrong,
}

impl Nextcloud {
    pub(crate) fn new(
        gss_url: Url,
        node_urls: BTreeMap<String, Url>,
        fault: Option<Fault>,
        people: &'static People,
    ) -> Nextcloud {
        Nextcloud { gss_url, node_urls, fault, people, tables: Mutex::default() }
    }

    /// The account behind `login` and its account password, on whichever node (the GSS knows them all).
    pub(crate) fn account(&self, login: &str, password: &str) -> Option<&'static NextcloudUser> {
        self.people.nextcloud_users.iter().find(|user| user.login == login && user.password == password)
    }

    pub(crate) fn gss_url(&self) -> &Url {
        &self.gss_url
    }

    pub(crate) fn node_urls(&self) -> &BTreeMap<String, Url> {
        &self.node_urls
    }

    /// A node's URL as Login Flow v2's `server` names it: no trailing slash.
    pub(crate) fn server_of(&self, node: &str) -> String {
        self.node_urls.get(node).map(|url| url.as_str().trim_end_matches('/').to_owned()).unwrap_or_default()
    }

    /// `POST /index.php/login/v2`: a new flow; its poll token and login token.
    pub(crate) fn start_flow(&self, client: &str) -> Result<(String, String), getrandom::Error> {
        let poll_token = random_token(FLOW_TOKEN_LENGTH)?;
        let login_token = random_token(FLOW_TOKEN_LENGTH)?;
        let now = Instant::now();
        let mut tables = self.lock();
        tables.flows.retain(|_, flow| !expired(flow, now));
        if tables.flows.len() >= MAX_ENTRIES {
            let oldest = tables.flows.iter().min_by_key(|(_, flow)| flow.created).map(|(token, _)| token.clone());
            if let Some(oldest) = oldest {
                tables.flows.remove(&oldest);
            }
        }
        let client: String = client.chars().take(256).collect();
        tables.flows.insert(
            login_token.clone(),
            Flow { poll_token: poll_token.clone(), client, created: now, expired: false, granted: None },
        );
        Ok((poll_token, login_token))
    }

    /// The poll: the credentials once after the grant, `None` (404) before, after, for an unknown token and for an
    /// expired flow.
    pub(crate) fn poll(&self, poll_token: &str, now: Instant) -> Option<Credentials> {
        if self.fault == Some(Fault::NextcloudFlowExpired) {
            return None;
        }
        let mut tables = self.lock();
        let login_token = tables.flows.iter().find(|(_, flow)| flow.poll_token == poll_token)?.0.clone();
        let flow = tables.flows.get(&login_token)?;
        if expired(flow, now) {
            tables.flows.remove(&login_token);
            return None;
        }
        flow.granted.as_ref()?;
        tables.flows.remove(&login_token).and_then(|flow| flow.granted)
    }

    /// The client of a flow the person may still log in to (known, not expired, not yet granted).
    pub(crate) fn open_flow(&self, login_token: &str) -> Option<String> {
        if self.fault == Some(Fault::NextcloudFlowExpired) {
            return None;
        }
        let tables = self.lock();
        let flow = tables.flows.get(login_token)?;
        (!expired(flow, Instant::now()) && flow.granted.is_none()).then(|| flow.client.clone())
    }

    /// The grant: creates the app password at the node that holds the account and hands it to the poll.
    pub(crate) fn grant(&self, login_token: &str, user: &'static NextcloudUser) -> Result<bool, getrandom::Error> {
        if self.open_flow(login_token).is_none() {
            return Ok(false);
        }
        let app_password = self.create_app_password(user)?;
        let mut tables = self.lock();
        let Some(flow) = tables.flows.get_mut(login_token) else {
            return Ok(false);
        };
        flow.granted = Some(Credentials { server: self.server_of(user.node), login_name: user.login, app_password });
        Ok(true)
    }

    /// A new app password that `user`'s node accepts.
    pub(crate) fn create_app_password(&self, user: &'static NextcloudUser) -> Result<String, getrandom::Error> {
        let app_password = random_token(APP_PASSWORD_LENGTH)?;
        let mut tables = self.lock();
        if tables.app_passwords.len() >= MAX_ENTRIES {
            let any = tables.app_passwords.keys().next().cloned();
            if let Some(any) = any {
                tables.app_passwords.remove(&any);
            }
        }
        tables.app_passwords.insert(app_password.clone(), AppPassword { user });
        Ok(app_password)
    }

    /// `DELETE /ocs/v2.php/core/apppassword`: the app password stops working.
    pub(crate) fn delete_app_password(&self, app_password: &str) -> bool {
        self.lock().app_passwords.remove(app_password).is_some()
    }

    /// How Basic `login:password` stands at `node`.
    pub(crate) fn node_login(&self, node: &str, login: &str, password: &str) -> NodeLogin {
        if let Some(entry) = self.lock().app_passwords.get(password) {
            if entry.user.login == login && entry.user.node == node {
                return NodeLogin::AppPassword { user: entry.user, app_password: password.to_owned() };
            }
            return NodeLogin::Wrong;
        }
        match self.account(login, password) {
            Some(user) if user.node == node => NodeLogin::AccountPassword(user),
            _ => NodeLogin::Wrong,
        }
    }

    /// Whether `password` is an app password `login`'s node accepts now.
    pub(crate) fn is_app_password(&self, login: &str, password: &str) -> bool {
        self.lock().app_passwords.get(password).is_some_and(|entry| entry.user.login == login)
    }

    /// How many app passwords each node accepts now, by node.
    pub(crate) fn app_password_counts(&self) -> BTreeMap<String, usize> {
        let mut counts: BTreeMap<String, usize> = self.node_urls.keys().map(|node| (node.clone(), 0)).collect();
        for entry in self.lock().app_passwords.values() {
            *counts.entry(entry.user.node.to_owned()).or_default() += 1;
        }
        counts
    }

    /// Acts out 20 minutes passing: every flow started so far is expired.
    pub(crate) fn expire_all_flows(&self) {
        for flow in self.lock().flows.values_mut() {
            flow.expired = true;
        }
    }

    /// A new browser session; its id.
    pub(crate) fn new_session(&self) -> Result<String, getrandom::Error> {
        let id = random_token(SESSION_ID_LENGTH)?;
        let request_token = random_token(SESSION_ID_LENGTH)?;
        let mut tables = self.lock();
        if tables.sessions.len() >= MAX_ENTRIES {
            let any = tables.sessions.keys().next().cloned();
            if let Some(any) = any {
                tables.sessions.remove(&any);
            }
        }
        tables.sessions.insert(id.clone(), Session { request_token, ..Session::default() });
        Ok(id)
    }

    /// Runs `change` on session `id`; `None` for an unknown session.
    pub(crate) fn with_session<T>(&self, id: &str, change: impl FnOnce(&mut Session) -> T) -> Option<T> {
        self.lock().sessions.get_mut(id).map(change)
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        // The tables stay consistent whatever panicked while holding the lock.
        self.tables.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn expired(flow: &Flow, now: Instant) -> bool {
    flow.expired || now.saturating_duration_since(flow.created) >= FLOW_LIFETIME
}

/// `length` characters of `[A-Za-z0-9]`.
pub(crate) fn random_token(length: usize) -> Result<String, getrandom::Error> {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0_u8; length];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|byte| char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()])).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nextcloud() -> Nextcloud {
        let node = |port: u16| Url::parse(&format!("http://127.0.0.1:{port}/")).expect("a URL");
        let nodes = [("node1".to_owned(), node(2)), ("node2".to_owned(), node(3))].into_iter().collect();
        Nextcloud::new(node(1), nodes, None, &crate::BUILT_IN)
    }

    #[test]
    fn a_flow_answers_its_credentials_once_and_only_after_the_grant() {
        let nextcloud = nextcloud();
        let (poll, login) = nextcloud.start_flow("Homeport").expect("randomness");
        assert_eq!((poll.len(), login.len()), (128, 128), "Nextcloud's token lengths");
        assert!(nextcloud.poll(&poll, Instant::now()).is_none(), "404 before the grant");
        let alice = &crate::BUILT_IN.nextcloud_users[0];
        assert!(nextcloud.grant(&login, alice).expect("randomness"), "an open flow can be granted");
        let credentials = nextcloud.poll(&poll, Instant::now()).expect("the credentials after the grant");
        assert_eq!(credentials.server, "http://127.0.0.1:2", "alice's node, no trailing slash");
        assert_eq!(credentials.app_password.len(), 72, "Nextcloud's app password length");
        assert!(!format!("{credentials:?}").contains(&credentials.app_password), "Debug hides the app password");
        assert!(nextcloud.poll(&poll, Instant::now()).is_none(), "only once");
        assert!(!nextcloud.grant(&login, alice).expect("randomness"), "a finished flow is gone");
    }

    #[test]
    fn a_flow_expires_after_twenty_minutes() {
        let nextcloud = nextcloud();
        let (poll, login) = nextcloud.start_flow("Homeport").expect("randomness");
        assert!(nextcloud.grant(&login, &crate::BUILT_IN.nextcloud_users[1]).expect("randomness"), "granted");
        let later = Instant::now() + FLOW_LIFETIME + Duration::from_secs(1);
        assert!(nextcloud.poll(&poll, later).is_none(), "past 20 minutes even a granted flow is gone");
        assert!(nextcloud.poll(&poll, Instant::now()).is_none(), "and it stays gone");
    }

    #[test]
    fn nodes_tell_app_passwords_from_account_passwords() {
        let nextcloud = nextcloud();
        let alice = &crate::BUILT_IN.nextcloud_users[0];
        let app_password = nextcloud.create_app_password(alice).expect("randomness");
        assert!(matches!(nextcloud.node_login("node1", "alice", &app_password), NodeLogin::AppPassword { .. }));
        assert!(matches!(nextcloud.node_login("node2", "alice", &app_password), NodeLogin::Wrong), "other node");
        assert!(matches!(nextcloud.node_login("node1", "bob", &app_password), NodeLogin::Wrong), "other login");
        assert!(matches!(nextcloud.node_login("node1", "alice", "alice-pw"), NodeLogin::AccountPassword(_)));
        assert!(matches!(nextcloud.node_login("node2", "alice", "alice-pw"), NodeLogin::Wrong), "not alice's node");
        assert!(nextcloud.delete_app_password(&app_password), "deleted");
        assert!(matches!(nextcloud.node_login("node1", "alice", &app_password), NodeLogin::Wrong), "gone");
    }
}
