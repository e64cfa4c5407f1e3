//! The browser's way back (docs/security.md, "The browser's way back") through the wizard: a
//! forged callback, a stray path and a client that connects and says nothing, all before the real
//! login, neither end the login nor hold it up — for OpenID Connect and Matrix SSO.

use std::time::Duration;

use homeport_engine::{AuthMethod, Decision, Step, Wizard};
use homeport_lookup::{auto_login, complete_browser_login, Scenario};
use tokio::net::TcpStream;
use url::Url;

use crate::{lookup, options};

fn browser() -> reqwest::Client {
    // Bounded: a listener held up by another client would leave these waiting.
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(5)).build().expect("client")
}

/// What a hostile neighbour on this computer does to a loopback listener before the real answer:
/// holds a connection open in silence, asks a stray path, sends `forged` to the callback's path.
/// Returns the idle connection (kept open until the login is over).
async fn interfere(redirect: &Url, forged: &str) -> TcpStream {
    let port = redirect.port().expect("a port");
    let idle = TcpStream::connect(("127.0.0.1", port)).await.expect("the idle client connects");
    let stray = browser().get(format!("http://127.0.0.1:{port}/favicon.ico")).send().await;
    assert_eq!(stray.expect("a stray path is answered at once").status(), 404);
    let mut forged_url = redirect.clone();
    forged_url.set_query(Some(forged));
    let forged = browser().get(forged_url).send().await;
    let forged = forged.expect("a forged callback is answered at once, not after the idle client");
    assert_eq!(forged.status(), 400, "a callback the login does not accept is refused, and the wait goes on");
    idle
}

#[tokio::test]
async fn a_forged_oidc_callback_and_an_idle_client_do_not_end_or_block_the_login() {
    let server = lookup(Scenario::default()).await;
    let mut wizard = Wizard::new(server.ocis_url().as_str(), options(&server)).expect("valid address");
    let Step::Decide(Decision::OpenBrowser { url, .. }) = wizard.next().await.expect("discovery") else {
        panic!("a Bearer challenge opens the browser")
    };
    let page = Url::parse(&url).expect("a URL");
    let redirect = page.query_pairs().find(|(k, _)| k == "redirect_uri").map(|(_, v)| v.into_owned());
    let redirect = Url::parse(&redirect.expect("a redirect_uri")).expect("a URL");
    let segments: Vec<&str> = redirect.path_segments().expect("a path").collect();
    assert!(
        segments.len() == 3 && segments[1].len() >= 22,
        "/homeport/<unguessable>/callback, so only the provider's redirect finds it: {redirect}"
    );
    let robot = async {
        let _idle = interfere(&redirect, "code=forged&state=forged").await;
        let callback = auto_login(&page, "einstein", "relativity").await.expect("the robot logs in");
        browser().get(callback).send().await.expect("the real callback is answered").status()
    };
    let (step, status) = tokio::join!(wizard.next(), robot);
    assert_eq!(status, 200, "the real callback gets the page");
    let Step::Connected(connected) = step.expect("the real callback logs in") else { panic!("connected") };
    assert_eq!(connected.account.auth_method, AuthMethod::Oidc);
    server.shutdown().await;
}

#[tokio::test]
async fn a_matrix_sso_callback_without_a_token_and_an_idle_client_do_not_end_or_block_the_login() {
    let server = lookup(Scenario::default()).await;
    let portal = server.matrix_portal_url().clone();
    let alice = server.matrix_people().into_iter().find(|p| p.localpart == "alice").expect("alice");
    let address = format!("@alice:{}:{}", portal.host_str().expect("host"), portal.port().expect("port"));
    let mut wizard = Wizard::new(&address, options(&server)).expect("valid address");
    wizard.prefer_browser_login();
    let Step::Decide(Decision::OpenBrowser { url, .. }) = wizard.next().await.expect("discovery") else {
        panic!("SSO opens the browser")
    };
    let page = Url::parse(&url).expect("a URL");
    let redirect = page.query_pairs().find(|(k, _)| k == "redirectUrl").map(|(_, v)| v.into_owned());
    let redirect = Url::parse(&redirect.expect("a redirectUrl")).expect("a URL");
    let robot = async {
        let _idle = interfere(&redirect, "error=forged").await;
        complete_browser_login(&page, "alice", alice.password).await.expect("the robot logs in")
    };
    let (step, status) = tokio::join!(wizard.next(), robot);
    assert_eq!(status, 200, "the real callback gets the page");
    let Step::Connected(connected) = step.expect("the real token logs in") else { panic!("connected") };
    assert_eq!(connected.account.auth_method, AuthMethod::MatrixSso);
    server.shutdown().await;
}
