//! The Nextcloud Global Scale systems over HTTP, as a client and a browser meet them: Login Flow v2 through the
//! GSS's pages, the app password that only the account's node accepts, the account password refused there,
//! `getapppassword` and `DELETE apppassword`, the GSS's WebDAV redirect, the faults and the request log.

use serde_json::{json, Value};

use crate::robot::auto_login_nextcloud;
use crate::testing::{self, client, propfind, start};
use crate::{Fault, LookupServer, Scenario};

const USER_AGENT: &str = "Homeport test (nextcloud/tests.rs)";

/// `POST <gss>/index.php/login/v2`: the poll token, the poll endpoint and the login URL.
async fn start_flow(server: &LookupServer) -> (String, url::Url, url::Url) {
    let answer = client()
        .post(server.nextcloud_gss_url().join("index.php/login/v2").expect("a URL"))
        .header(reqwest::header::USER_AGENT, USER_AGENT)
        .send()
        .await
        .expect("the GSS answers the flow's start");
    assert_eq!(answer.status(), 200, "Login Flow v2 starts with 200");
    let flow: Value = answer.json().await.expect("the flow is JSON");
    let token = flow["poll"]["token"].as_str().expect("poll.token").to_owned();
    let endpoint = url::Url::parse(flow["poll"]["endpoint"].as_str().expect("poll.endpoint")).expect("a URL");
    let login = url::Url::parse(flow["login"].as_str().expect("login")).expect("a URL");
    (token, endpoint, login)
}

async fn poll(endpoint: &url::Url, token: &str) -> (u16, Value) {
    let answer = client()
        .post(endpoint.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .expect("the poll answers");
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

fn node(server: &LookupServer, name: &str) -> url::Url {
    server.nextcloud_node_urls()[name].clone()
}

async fn ocs(
    server: &LookupServer,
    node_name: &str,
    method: &str,
    path: &str,
    user: &str,
    password: &str,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
    let answer = client()
        .request(method, node(server, node_name).join(path).expect("a URL"))
        .basic_auth(user, Some(password))
        .header("OCS-APIRequest", "true")
        .send()
        .await
        .expect("the node answers OCS");
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

async fn propfind_status(server: &LookupServer, node_name: &str, user: &str, password: &str) -> u16 {
    let url = node(server, node_name).join(&format!("remote.php/dav/files/{user}/")).expect("a URL");
    let answer = propfind(&client(), url).basic_auth(user, Some(password)).header("Depth", "1").send().await;
    answer.expect("the node answers PROPFIND").status().as_u16()
}

#[tokio::test]
async fn every_nextcloud_server_says_nextcloud_and_the_description_lists_them() {
    let server = start(Scenario::default()).await;
    let mut urls = vec![server.nextcloud_gss_url().clone()];
    urls.extend(server.nextcloud_node_urls().values().cloned());
    for url in urls {
        let status: Value = client()
            .get(url.join("status.php").expect("a URL"))
            .send()
            .await
            .expect("status.php")
            .json()
            .await
            .expect("status.php is JSON");
        assert_eq!(status["productname"], "Nextcloud", "{url} is a Nextcloud");
        assert_eq!(status["versionstring"], "30.0.2", "{url}: Nextcloud 30");
        assert_eq!(status["installed"], true, "{url} is installed");
    }
    let description = server.description().to_json();
    assert_eq!(description["nextcloud_gss"].as_str(), Some(server.nextcloud_gss_url().as_str()), "the GSS");
    assert_eq!(
        description["nextcloud_nodes"]["node2"].as_str(),
        Some(server.nextcloud_node_urls()["node2"].as_str()),
        "each node"
    );
    assert_eq!(description["nextcloud_users"], json!(["alice", "bob"]), "the accounts");
    assert_eq!(description["nextcloud_passwords"]["bob"], "bob-pw", "their account passwords");
    assert_eq!(description["nextcloud_user_nodes"], json!({"alice": "node1", "bob": "node2"}), "their nodes");
    let people = server.nextcloud_people();
    assert_eq!(people[1].node_url, server.nextcloud_node_urls()["node2"].as_str().trim_end_matches('/'), "bob's node");
    server.shutdown().await;
}

#[tokio::test]
async fn login_flow_v2_grants_once_and_names_the_accounts_node() {
    let server = start(Scenario::default()).await;
    let (token, endpoint, login) = start_flow(&server).await;
    let gss = server.nextcloud_gss_url().as_str().trim_end_matches('/');
    assert_eq!(endpoint.as_str(), format!("{gss}/index.php/login/v2/poll"), "the poll is on the GSS");
    assert!(login.as_str().starts_with(&format!("{gss}/index.php/login/v2/flow/")), "the login page too: {login}");
    assert_eq!(poll(&endpoint, &token).await, (404, json!([])), "404 [] until the person granted");

    auto_login_nextcloud(&login, "bob", "bob-pw").await.expect("bob logs in and grants");
    let (status, credentials) = poll(&endpoint, &token).await;
    assert_eq!(status, 200, "the credentials after the grant: {credentials}");
    let node2 = node(&server, "node2");
    assert_eq!(credentials["server"].as_str(), Some(node2.as_str().trim_end_matches('/')), "bob's node, no slash");
    assert_eq!(credentials["loginName"], "bob", "the login name");
    let app_password = credentials["appPassword"].as_str().expect("an app password").to_owned();
    assert_eq!(app_password.len(), 72, "Nextcloud's app passwords have 72 characters");
    assert_ne!(app_password, "bob-pw", "an app password, not the account password");
    assert_eq!(poll(&endpoint, &token).await.0, 404, "the credentials are handed out once");
    assert!(server.is_nextcloud_app_password("bob", &app_password), "the node accepts it now");

    assert_eq!(propfind_status(&server, "node2", "bob", &app_password).await, 207, "WebDAV with the app password");
    let (status, user) = ocs(&server, "node2", "GET", "ocs/v2.php/cloud/user?format=json", "bob", &app_password).await;
    assert_eq!((status, &user["ocs"]["data"]["id"]), (200, &json!("bob")), "OCS user: {user}");
    let (status, caps) =
        ocs(&server, "node2", "GET", "ocs/v2.php/cloud/capabilities?format=json", "bob", &app_password).await;
    assert_eq!(status, 200, "capabilities: {caps}");
    assert_eq!(caps["ocs"]["data"]["capabilities"]["theming"]["name"], "Nextcloud", "Nextcloud's capabilities");
    assert_eq!(propfind_status(&server, "node1", "bob", &app_password).await, 401, "only bob's node accepts it");
    server.shutdown().await;
}

#[tokio::test]
async fn the_node_refuses_the_account_password_but_converts_it_to_an_app_password() {
    let server = start(Scenario::default()).await;
    assert_eq!(propfind_status(&server, "node1", "alice", "alice-pw").await, 401, "WebDAV refuses the password");
    let (status, _) = ocs(&server, "node1", "GET", "ocs/v2.php/cloud/user?format=json", "alice", "alice-pw").await;
    assert_eq!(status, 401, "OCS refuses the account password too");
    let avatar = client()
        .get(node(&server, "node1").join("remote.php/dav/avatars/alice/64.png").expect("a URL"))
        .basic_auth("alice", Some("alice-pw"))
        .send()
        .await
        .expect("the avatar answers");
    assert_eq!(avatar.status(), 401, "and the avatar");

    let (status, answer) =
        ocs(&server, "node1", "GET", "ocs/v2.php/core/getapppassword?format=json", "alice", "alice-pw").await;
    assert_eq!(status, 200, "getapppassword takes the account password: {answer}");
    assert_eq!(answer["ocs"]["meta"]["status"], "ok", "OCS ok");
    let app_password = answer["ocs"]["data"]["apppassword"].as_str().expect("data.apppassword").to_owned();
    assert_eq!(propfind_status(&server, "node1", "alice", &app_password).await, 207, "the app password works");
    let (status, _) =
        ocs(&server, "node1", "GET", "ocs/v2.php/core/getapppassword?format=json", "alice", &app_password).await;
    assert_eq!(status, 403, "no new app password from an app password");
    let (status, _) = ocs(&server, "node2", "GET", "ocs/v2.php/core/getapppassword", "alice", "alice-pw").await;
    assert_eq!(status, 401, "alice's account is not on node2");

    let (status, answer) =
        ocs(&server, "node1", "DELETE", "ocs/v2.php/core/apppassword?format=json", "alice", "alice-pw").await;
    assert_eq!(status, 403, "the account password is no app password to delete: {answer}");
    let (status, answer) =
        ocs(&server, "node1", "DELETE", "ocs/v2.php/core/apppassword?format=json", "alice", &app_password).await;
    assert_eq!((status, &answer["ocs"]["meta"]["status"]), (200, &json!("ok")), "deleted: {answer}");
    assert_eq!(propfind_status(&server, "node1", "alice", &app_password).await, 401, "it stopped working");
    assert!(!server.is_nextcloud_app_password("alice", &app_password), "and is gone");
    assert_eq!(server.nextcloud_app_password_counts()["node1"], 0, "no app password left on node1");
    server.shutdown().await;
}

#[tokio::test]
async fn a_password_login_at_the_gss_is_redirected_to_the_users_node() {
    let server = start(Scenario::default()).await;
    let gss = server.nextcloud_gss_url();
    let answer = propfind(&client(), gss.join("remote.php/dav/files/alice/Documents/").expect("a URL"))
        .basic_auth("alice", Some("alice-pw"))
        .send()
        .await
        .expect("the GSS answers WebDAV");
    assert_eq!(answer.status(), 307, "a 307 keeps the method");
    let location = answer.headers()[reqwest::header::LOCATION].to_str().expect("ASCII").to_owned();
    let node1 = node(&server, "node1");
    assert_eq!(location, format!("{node1}remote.php/dav/files/alice/Documents/"), "alice's node, the same path");
    let anonymous = propfind(&client(), gss.join("remote.php/webdav/").expect("a URL")).send().await.expect("answer");
    assert_eq!(anonymous.status(), 401, "without credentials the GSS asks for them");
    let stranger = propfind(&client(), gss.join("remote.php/webdav/").expect("a URL"))
        .basic_auth("mallory", Some("x"))
        .send()
        .await
        .expect("answer");
    assert_eq!(stranger.status(), 401, "an unknown account is not redirected");
    server.shutdown().await;
}

#[tokio::test]
async fn a_wrong_password_grants_nothing() {
    let server = start(Scenario::default()).await;
    let (token, endpoint, login) = start_flow(&server).await;
    let refused = auto_login_nextcloud(&login, "alice", "wrong").await;
    let Err(crate::LookupError::AutoLogin(message)) = refused else {
        panic!("a wrong password must fail: {refused:?}");
    };
    assert!(message.contains("Wrong login or password."), "the login page says why: {message}");
    assert_eq!(poll(&endpoint, &token).await.0, 404, "nothing to poll");
    auto_login_nextcloud(&login, "alice", "alice-pw").await.expect("the flow is still open for the right password");
    let (status, credentials) = poll(&endpoint, &token).await;
    assert_eq!((status, &credentials["loginName"]), (200, &json!("alice")), "alice's credentials: {credentials}");
    server.shutdown().await;
}

#[tokio::test]
async fn the_grant_needs_the_sessions_state_and_request_tokens() {
    let server = start(Scenario::default()).await;
    let gss = server.nextcloud_gss_url();
    let grant = gss.join("index.php/login/v2/grant").expect("a URL");
    let forged = client()
        .post(grant.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("stateToken=x&requesttoken=y")
        .send()
        .await
        .expect("answer");
    assert_eq!(forged.status(), 403, "no session, no grant");
    let (_, _, login) = start_flow(&server).await;
    let landing = client().get(login).send().await.expect("the flow URL answers");
    assert_eq!(landing.status(), 303, "the flow URL stores the token and redirects");
    let cookie = landing.headers()[reqwest::header::SET_COOKIE].to_str().expect("ASCII");
    let cookie = cookie.split(';').next().expect("name=value").to_owned();
    let unlogged = client()
        .get(grant.clone())
        .query(&[("stateToken", "guessed")])
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .expect("answer");
    assert_eq!(unlogged.status(), 403, "a state token the picker did not issue is refused");
    let page = client().get(gss.join("index.php/login").expect("a URL")).header(reqwest::header::COOKIE, &cookie);
    let page = page.send().await.expect("the login page").text().await.expect("HTML");
    assert!(page.contains("name=\"requesttoken\""), "the login form carries the CSRF token");
    let offsite = client()
        .post(gss.join("index.php/login").expect("a URL"))
        .header(reqwest::header::COOKIE, &cookie)
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("user=alice&password=alice-pw&requesttoken=wrong&redirect_url=%2F")
        .send()
        .await
        .expect("answer");
    assert_eq!(offsite.status(), 403, "a login without the session's request token is refused");
    server.shutdown().await;
}

#[tokio::test]
async fn fault_nextcloud_flow_expired_says_so_and_the_poll_stays_404() {
    let server = start(Scenario { fault: Some(Fault::NextcloudFlowExpired), ..Scenario::default() }).await;
    let (token, endpoint, login) = start_flow(&server).await;
    let page = client().get(login.clone()).send().await.expect("the flow URL answers");
    assert_eq!(page.status(), 403, "Nextcloud's 403 page");
    assert!(page.text().await.expect("HTML").contains("Your login token is invalid or has expired"), "says why");
    let refused = auto_login_nextcloud(&login, "alice", "alice-pw").await;
    assert!(matches!(&refused, Err(crate::LookupError::AutoLogin(m)) if m.contains("expired")), "{refused:?}");
    assert_eq!(poll(&endpoint, &token).await, (404, json!([])), "the poll never answers credentials");
    server.shutdown().await;
}

#[tokio::test]
async fn fault_nextcloud_poll_error_answers_500() {
    let server = start(Scenario { fault: Some(Fault::NextcloudPollError), ..Scenario::default() }).await;
    let (token, endpoint, login) = start_flow(&server).await;
    assert_eq!(poll(&endpoint, &token).await.0, 500, "before the grant");
    auto_login_nextcloud(&login, "alice", "alice-pw").await.expect("the pages work");
    assert_eq!(poll(&endpoint, &token).await.0, 500, "and after it");
    server.shutdown().await;
}

#[tokio::test]
async fn fault_nextcloud_node_down_refuses_connections_after_a_good_flow() {
    let server = start(Scenario { fault: Some(Fault::NextcloudNodeDown), ..Scenario::default() }).await;
    let (token, endpoint, login) = start_flow(&server).await;
    auto_login_nextcloud(&login, "alice", "alice-pw").await.expect("the GSS is up");
    let (status, credentials) = poll(&endpoint, &token).await;
    assert_eq!(status, 200, "the GSS names the node: {credentials}");
    let down = client().get(node(&server, "node1").join("status.php").expect("a URL")).send().await;
    let error = down.expect_err("the node refuses connections");
    assert!(error.is_connect(), "a refused connection, not an answer: {error}");
    server.shutdown().await;
}

#[tokio::test]
async fn the_browser_robot_gets_through_the_login_and_grant_pages() {
    let server = start(Scenario::default()).await;
    let (token, endpoint, login) = start_flow(&server).await;
    let robot = testing::browser_robot("bob", "bob-pw");
    let url = login.to_string();
    let runner = robot.clone();
    let (status, stderr) = tokio::task::spawn_blocking(move || runner.run(&url)).await.expect("the robot ran");
    assert!(status.success(), "browser-robot.py exits 0: {stderr}\n{}", robot.log());
    let (status, credentials) = poll(&endpoint, &token).await;
    assert_eq!((status, &credentials["loginName"]), (200, &json!("bob")), "bob granted: {credentials}");
    assert!(!robot.log().contains("bob-pw"), "the robot's log hides the password");

    let (token, endpoint, login) = start_flow(&server).await;
    let wrong = testing::browser_robot("bob", "nope");
    let url = login.to_string();
    let runner = wrong.clone();
    let (status, stderr) = tokio::task::spawn_blocking(move || runner.run(&url)).await.expect("the robot ran");
    assert_eq!(status.code(), Some(3), "a wrong password is a refused login: {stderr}");
    assert_eq!(poll(&endpoint, &token).await.0, 404, "nothing granted");
    server.shutdown().await;
}

#[tokio::test]
async fn the_log_keeps_no_password_app_password_or_poll_token() {
    let server = start(Scenario::default()).await;
    let (token, endpoint, login) = start_flow(&server).await;
    auto_login_nextcloud(&login, "alice", "alice-pw").await.expect("alice grants");
    let (_, credentials) = poll(&endpoint, &token).await;
    let app_password = credentials["appPassword"].as_str().expect("an app password").to_owned();
    assert_eq!(propfind_status(&server, "node1", "alice", &app_password).await, 207, "used once");
    let (_, answer) =
        ocs(&server, "node1", "GET", "ocs/v2.php/core/getapppassword?format=json", "alice", "alice-pw").await;
    let second = answer["ocs"]["data"]["apppassword"].as_str().expect("a second app password").to_owned();
    let _ = client().post(endpoint.clone()).query(&[("token", token.as_str())]).send().await.expect("a poll by query");
    let log = serde_json::to_string(&server.requests()).expect("the log serializes");
    for secret in ["alice-pw", app_password.as_str(), second.as_str(), token.as_str()] {
        assert!(!log.contains(secret), "the log must not hold {secret}: {log}");
    }
    assert!(log.contains("\"nextcloud-gss\"") && log.contains("\"nextcloud-node1\""), "both servers are logged");
    assert!(log.contains("\"basic_user\":\"alice\""), "the login name is kept");
    server.shutdown().await;
}

#[tokio::test]
async fn a_granted_flow_expires_unpolled_and_a_new_flow_works() {
    let server = start(Scenario::default()).await;
    let (token, endpoint, login) = start_flow(&server).await;
    auto_login_nextcloud(&login, "alice", "alice-pw").await.expect("alice grants");
    server.expire_nextcloud_flows();
    assert_eq!(poll(&endpoint, &token).await, (404, json!([])), "after 20 minutes the poll has nothing");
    let again = client().get(login).send().await.expect("the old login URL answers");
    assert_eq!(again.status(), 403, "an expired flow's page is Nextcloud's 403");
    let (token, endpoint, login) = start_flow(&server).await;
    auto_login_nextcloud(&login, "bob", "bob-pw").await.expect("a new flow is fresh");
    assert_eq!(poll(&endpoint, &token).await.0, 200, "and answers its credentials");
    server.shutdown().await;
}

#[tokio::test]
async fn the_flow_works_over_tls_and_without_index_php() {
    let server = start(Scenario { tls: true, ..Scenario::default() }).await;
    let certificate = server.certificate_der().expect("a certificate with TLS");
    let trusting = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .add_root_certificate(reqwest::Certificate::from_der(&certificate).expect("DER"))
        .build()
        .expect("a client");
    let gss = server.nextcloud_gss_url();
    assert_eq!(gss.scheme(), "https", "the GSS serves https");
    let flow: Value = trusting
        .post(gss.join("login/v2").expect("a URL"))
        .send()
        .await
        .expect("the pretty URL answers")
        .json()
        .await
        .expect("JSON");
    let login = url::Url::parse(flow["login"].as_str().expect("login")).expect("a URL");
    crate::robot::auto_login_nextcloud_trusting(&login, "alice", "alice-pw", Some(&certificate))
        .await
        .expect("the robot trusts the certificate");
    let credentials: Value = trusting
        .post(flow["poll"]["endpoint"].as_str().expect("endpoint"))
        .form(&[("token", flow["poll"]["token"].as_str().expect("token"))])
        .send()
        .await
        .expect("the poll answers")
        .json()
        .await
        .expect("JSON");
    assert!(credentials["server"].as_str().is_some_and(|server| server.starts_with("https://")), "{credentials}");
    server.shutdown().await;
}

#[tokio::test]
async fn while_browser_logs_in_drives_a_nextcloud_flow_while_the_client_polls() {
    let server = start(Scenario::default()).await;
    let (token, endpoint, login) = start_flow(&server).await;
    let polling = async {
        for _ in 0..200 {
            let (status, credentials) = poll(&endpoint, &token).await;
            if status == 200 {
                return Some(credentials);
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        None
    };
    let raced = crate::robot::while_browser_logs_in(polling, &login, "bob", "bob-pw").await.expect("the robot grants");
    let credentials = raced.outcome.expect("the poll gets the credentials within 5 s");
    assert_eq!(credentials["loginName"], "bob", "bob's credentials: {credentials}");

    let (token, endpoint, login) = start_flow(&server).await;
    let waiting = async { tokio::time::sleep(std::time::Duration::from_secs(30)).await };
    let refused = crate::robot::while_browser_logs_in(waiting, &login, "bob", "wrong").await;
    assert!(refused.is_err(), "a wrong password ends the wait at once, without the 30 s");
    assert_eq!(poll(&endpoint, &token).await.0, 404, "nothing granted");
    server.shutdown().await;
}
