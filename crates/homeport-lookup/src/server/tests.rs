//! The lookup server as a whole: its description, every system's listener, the log, latency and shutdown.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::*;
use crate::people::MatrixPerson;
use crate::robot::{auto_login, auto_login_trusting};
use crate::testing::{self, client, propfind, start, with_password};

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

#[tokio::test]
async fn description_lists_urls_users_and_no_certificate_without_tls() {
    let server = start(Scenario::default()).await;
    let description = server.description().to_json();
    assert_eq!(description["central"].as_str(), Some(server.central_url().as_str()), "the central URL");
    assert!(server.central_url().as_str().ends_with('/'), "base URLs end with a slash");
    assert_eq!(
        description["instances"]["instance2"].as_str(),
        Some(server.instance_urls()["instance2"].as_str()),
        "each instance URL"
    );
    assert_eq!(
        description["users"],
        json!(["test@instance1.com", "test@instance2.com", "test@instance3.com"]),
        "the seed's users"
    );
    assert_eq!(description["password"], "secret", "the seed's password");
    assert_eq!(description["tls_certificate_sha256"], Value::Null, "plain http has no certificate");
    assert!(server.certificate_der().is_none(), "and no certificate to trust");
    server.shutdown().await;
}

#[tokio::test]
async fn description_lists_the_oidc_systems() {
    let server = start(Scenario::default()).await;
    let description = server.description().to_json();
    assert_eq!(description["ocis"].as_str(), Some(server.ocis_url().as_str()), "the oCIS server");
    assert_eq!(
        description["ocis_instances"]["B"].as_str(),
        Some(server.ocis_instance_urls()["B"].as_str()),
        "the oCIS instances"
    );
    assert_eq!(description["idp"].as_str(), Some(server.idp_issuer().as_str()), "the IdP's issuer");
    assert_eq!(description["tenant_pattern"], r"^(.*)\.approuter\.localhost$", "TENANT_HOST_PATTERN");
    let tenant1 = description["tenants"]["tenant1"].as_str().expect("tenant1's URL");
    let port = server.localhost_ports()["approuter.localhost"];
    assert_eq!(tenant1, format!("http://tenant1.approuter.localhost:{port}/"), "the approuter by host");
    assert_eq!(description["oidc_users"], json!(["einstein", "marie", "richard"]), "the IdP's users");
    assert_eq!(description["oidc_passwords"]["marie"], "radioactivity", "their passwords");
    assert_eq!(description["tenants_subscribed"], json!(["tenant1", "tenant2"]), "tenant3 is not subscribed");
    let template = description["tenant_issuer_template"].as_str().expect("the zone issuer template");
    assert_eq!(
        Some(template.replace("{tenant}", "tenant2")),
        server.tenant_issuer("tenant2"),
        "the template names each zone's issuer"
    );
    let people = server.oidc_people();
    assert_eq!(people[1].ocis_instances, vec!["A", "B"], "marie lives on both instances");
    assert!(people[2].disabled_at_ocis, "richard is disabled at oCIS");
    for url in [server.ocis_url(), &server.ocis_instance_urls()["A"]] {
        assert_eq!(url.host_str(), Some("127.0.0.1"), "OIDC systems listen on loopback: {url}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn oidc_systems_serve_tls_for_their_localhost_names() {
    let server = start(Scenario { tls: true, ..Scenario::default() }).await;
    let zone = server.tenant_issuer("tenant2").expect("tenant2's zone");
    assert!(zone.starts_with("https://tenant2.auth.localhost:"), "https issuers: {zone}");
    let request = testing::authorization(&zone, "tls");
    let certificate = server.certificate_der().expect("a certificate");
    let callback = auto_login_trusting(&request.url, "marie", "radioactivity", Some(&certificate))
        .await
        .expect("the certificate covers *.auth.localhost");
    assert!(callback.query().is_some_and(|query| query.contains("code=")), "a code: {callback}");
    server.shutdown().await;
}

#[tokio::test]
async fn description_lists_the_matrix_systems() {
    let server = start(Scenario::default()).await;
    let description = server.description().to_json();
    assert_eq!(description["matrix_portal"].as_str(), Some(server.matrix_portal_url().as_str()), "proxy portal");
    assert_eq!(
        description["matrix_portal_307"].as_str(),
        Some(server.matrix_portal_307_url().as_str()),
        "the 307 portal"
    );
    for name in ["hs1", "hs2"] {
        let url = &server.matrix_homeserver_urls()[name];
        assert_eq!(description["matrix_homeservers"][name].as_str(), Some(url.as_str()), "{name}'s URL");
        assert_eq!(url.host_str(), Some(format!("{name}.localhost").as_str()), "{name} is named");
        assert_eq!(server.localhost_ports()[format!("{name}.localhost").as_str()], url.port().expect("port"));
    }
    assert!(server.matrix_portal_url().as_str().starts_with("http://proxy.localhost:"), "the proxy's name");
    assert!(server.matrix_portal_307_url().as_str().starts_with("http://redirect.localhost:"), "the 307's name");
    assert_eq!(description["matrix_users"], json!(["alice", "bob", "carol", "dave"]), "the Matrix users");
    assert_eq!(
        description["matrix_passwords"],
        json!({"alice": "wonderland", "bob": "builder", "carol": "rate-limit", "dave": "deactivated"}),
        "their passwords"
    );
    assert_eq!(description["matrix_deactivated_users"], json!(["dave"]), "dave is deactivated");
    assert_eq!(description["matrix_rate_limited_users"], json!(["carol"]), "carol is rate limited");

    let people = server.matrix_people();
    let hs1 = server.matrix_homeserver_urls()["hs1"].authority().to_owned();
    assert_eq!(
        people[0],
        MatrixPerson {
            localpart: "alice",
            password: "wonderland",
            display_name: "Alice Liddell",
            homeserver: "hs1",
            user_id: format!("@alice:{hs1}"),
            deactivated: false,
            rate_limited: false,
            oauth: false,
        },
        "alice lives on hs1"
    );
    assert_eq!((people[1].homeserver, people[3].homeserver), ("hs2", "hs2"), "bob and dave live on hs2");
    assert!(people[2].rate_limited && people[3].deactivated, "carol and dave are the special cases");

    let oauth = server.matrix_oauth_homeserver_url();
    let server_name = server.matrix_oauth_server_name();
    assert_eq!(description["matrix_oauth_homeserver"].as_str(), Some(oauth.as_str()), "the OAuth-only homeserver");
    assert_eq!(description["matrix_oauth_server_name"].as_str(), Some(server_name.as_str()), "its server name");
    assert_eq!(description["matrix_oauth_issuer"].as_str(), Some(server.matrix_oauth_issuer().as_str()), "issuer");
    assert_eq!(server.localhost_ports()["oauth.localhost"], oauth.port().expect("a port"), "oauth.localhost's port");
    assert_eq!(
        people.last(),
        Some(&MatrixPerson {
            localpart: "einstein",
            password: "relativity",
            display_name: "Albert Einstein",
            homeserver: "oauth",
            user_id: format!("@einstein:{server_name}"),
            deactivated: false,
            rate_limited: false,
            oauth: true,
        }),
        "the demo's OAuth-only entry logs in in the browser with the IdP's password"
    );
    assert_eq!(people.len(), 5, "the four password users and the OAuth entry");
    server.shutdown().await;
}

#[tokio::test]
async fn matrix_logins_leave_no_password_or_token_in_the_log() {
    use crate::matrix::test_support::{get_with_token, login, password_login, post_raw, token_login};
    let server = start(Scenario::default()).await;
    let proxied = login(server.matrix_portal_url(), &password_login("alice", "wonderland")).await;
    assert_eq!(proxied.status, 200, "proxied login: {:?}", proxied.json);
    let redirect = login(server.matrix_portal_307_url(), &password_login("bob", "builder")).await;
    let location = Url::parse(redirect.headers["location"].to_str().expect("ASCII")).expect("a Location");
    let redirected = post_raw(&location, &password_login("bob", "builder").to_string()).await;
    assert_eq!(redirected.status, 200, "re-POSTed login: {:?}", redirected.json);
    let mut sso = server.matrix_portal_url().join("_matrix/client/v3/login/sso/redirect").expect("URL");
    sso.query_pairs_mut().append_pair("redirectUrl", "http://127.0.0.1:53682/cb");
    let callback = auto_login(&sso, "alice", "wonderland").await.expect("SSO login");
    let login_token =
        callback.query_pairs().find(|(name, _)| name == "loginToken").map(|(_, token)| token.into_owned());
    let login_token = login_token.expect("a login token");
    let by_token = login(server.matrix_portal_url(), &token_login(&login_token)).await;
    assert_eq!(by_token.status, 200, "token login: {:?}", by_token.json);
    let hs1 = &server.matrix_homeserver_urls()["hs1"];
    let access_token = proxied.json["access_token"].as_str().expect("an access token");
    let whoami = get_with_token(hs1, "_matrix/client/v3/account/whoami", access_token).await;
    assert_eq!(whoami.status, 200, "whoami");
    // A client that sends a token in the query (the spec's deprecated form) does not put it in the log either.
    let query = format!("_matrix/client/v3/account/whoami?access_token={access_token}");
    let _ = crate::matrix::test_support::get(hs1, &query).await;

    let log = server.requests();
    let servers: std::collections::BTreeSet<&str> = log.iter().map(|request| request.server.as_str()).collect();
    for name in ["matrix-proxy", "matrix-307", "hs1", "hs2"] {
        assert!(servers.contains(name), "{name} is named in the log: {servers:?}");
    }
    assert_eq!(server.matrix_login_posts("hs1"), 2, "the proxied password and token logins reached hs1");
    assert_eq!(server.matrix_login_posts("hs2"), 1, "bob's re-POST reached hs2");
    assert_eq!(server.matrix_login_posts("matrix-307"), 1, "the 307 portal got bob's first POST");
    let serialized = serde_json::to_string(&log).expect("the log serializes");
    let mut secrets = vec!["wonderland".to_owned(), "builder".to_owned(), login_token];
    for answer in [&proxied, &redirected, &by_token] {
        secrets.push(answer.json["access_token"].as_str().expect("an access token").to_owned());
        secrets.extend(answer.json["refresh_token"].as_str().map(str::to_owned));
    }
    for secret in &secrets {
        assert!(!serialized.contains(secret.as_str()), "no password or token in the log: {serialized}");
        assert!(!format!("{log:?}").contains(secret.as_str()), "nor in its Debug output");
    }
    assert!(serialized.contains("access_token=[redacted]"), "the query token is redacted: {serialized}");
    server.shutdown().await;
}

#[tokio::test]
async fn matrix_systems_serve_tls_and_the_proxy_forwards_over_it() {
    use crate::matrix::test_support::password_login;
    let server = start(Scenario { tls: true, ..Scenario::default() }).await;
    let certificate =
        reqwest::Certificate::from_der(&server.certificate_der().expect("a certificate")).expect("valid DER");
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .tls_built_in_root_certs(false)
        .add_root_certificate(certificate);
    for host in crate::matrix::MATRIX_HOSTS {
        builder = builder.resolve(host, SocketAddr::from(([127, 0, 0, 1], 0)));
    }
    let trusting = builder.build().expect("a client trusting the mock's certificate");
    let hs2 = &server.matrix_homeserver_urls()["hs2"];
    for base in [server.matrix_portal_url(), server.matrix_portal_307_url(), hs2] {
        assert_eq!(base.scheme(), "https", "https in a TLS scenario: {base}");
        let response = trusting
            .get(base.join("_matrix/client/versions").expect("URL"))
            .send()
            .await
            .expect("the certificate covers the Matrix host names");
        assert_eq!(response.status(), 200, "{base}: versions over https");
    }
    let response = trusting
        .post(server.matrix_portal_url().join("_matrix/client/v3/login").expect("URL"))
        .json(&password_login("bob", "builder"))
        .send()
        .await
        .expect("the proxy portal answers");
    assert_eq!(response.status(), 200, "the portal forwarded the login to hs2 over https");
    let answer: Value = response.json().await.expect("JSON");
    assert_eq!(answer["base_cs_url"].as_str(), Some(hs2.as_str()), "and names hs2's https base");
    assert_eq!(server.matrix_login_posts("hs2"), 1, "hs2 got the forwarded login");
    server.shutdown().await;
}

#[tokio::test]
async fn the_central_server_stays_up_under_a_connection_flood_and_garbage() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let server = start(Scenario::default()).await;
    let url = server.central_url().clone();
    let addr = SocketAddr::from(([127, 0, 0, 1], url.port().expect("port")));
    let mut flood = Vec::with_capacity(crate::serve::MAX_CONNECTIONS);
    for _ in 0..crate::serve::MAX_CONNECTIONS {
        flood.push(tokio::net::TcpStream::connect(addr).await.expect("connects"));
    }
    // One whole request on the last one: once it is answered, every earlier connection was accepted.
    let last = flood.last_mut().expect("a connection");
    last.write_all(b"GET /status.php HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");
    let mut head = [0u8; 12];
    last.read_exact(&mut head).await.expect("an answer");
    assert_eq!(&head, b"HTTP/1.1 200", "served while the flood holds every other slot");
    let mut extra = tokio::net::TcpStream::connect(addr).await.expect("the kernel still accepts");
    let mut byte = [0u8; 1];
    let closed = tokio::time::timeout(Duration::from_secs(5), extra.read(&mut byte)).await;
    assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "past the bound a connection is closed at once: {closed:?}");
    for stream in flood.iter_mut().take(8) {
        stream.write_all(b"\x00\x01 GARBAGE /\xff\r\n\r\n").await.expect("write garbage");
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
        assert!(
            answer.starts_with(b"HTTP/1.1 400"),
            "garbage gets 400 and a close: {:?}",
            String::from_utf8_lossy(&answer)
        );
    }
    drop(flood);
    // The slots free as the server notices the closed sockets; a fresh client is then served.
    let mut answered = None;
    for _ in 0..50 {
        if let Ok(response) = client().get(url.join("status.php").expect("url")).send().await {
            answered = Some(response.status());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(answered, Some(reqwest::StatusCode::OK), "the server is up and serving again");
    server.shutdown().await;
}

#[tokio::test]
async fn invalid_scenarios_and_busy_ports_are_errors() {
    let invalid = LookupServer::start(loopback(), Scenario { redirect_status: 303, ..Scenario::default() }).await;
    assert!(
        matches!(invalid, Err(LookupError::InvalidScenario(_))),
        "a 303 redirect is refused before anything listens"
    );

    let server = start(Scenario::default()).await;
    let taken =
        server.central_url().socket_addrs(|| None).expect("socket address").into_iter().next().expect("one address");
    let busy = LookupServer::start(taken, Scenario::default()).await;
    assert!(
        matches!(busy, Err(LookupError::Bind { addr, .. }) if addr == taken),
        "a port in use is a Bind error naming the address"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_log_records_users_but_never_passwords() {
    let server = start(Scenario::default()).await;
    let _ = client().get(server.central_url().join("status.php").expect("URL")).send().await.expect("status.php");
    let _ = propfind(&client(), server.central_url().join("remote.php/webdav/").expect("URL"))
        .basic_auth("test@instance1.com", Some("secret"))
        .send()
        .await
        .expect("central answers");
    let _ = with_password(
        client()
            .get(server.instance_urls()["instance1"].join("ocs/v1.php/cloud/user?format=json").expect("URL"))
            .header("OCS-APIRequest", "true"),
        "test@instance1.com",
    )
    .send()
    .await
    .expect("instance answers");

    let log = server.requests();
    assert_eq!(log.len(), 3, "every request is recorded once: {log:?}");
    assert_eq!(
        log[0],
        RecordedRequest {
            server: "central".into(),
            method: "GET".into(),
            path: "/status.php".into(),
            basic_user: None,
            has_authorization: false,
            ocs_api_request: false,
        },
        "an anonymous request"
    );
    assert_eq!(log[1].method, "PROPFIND", "the method as sent");
    assert_eq!(log[1].basic_user.as_deref(), Some("test@instance1.com"), "the Basic user name is recorded");
    assert!(log[1].has_authorization, "credentials were present");
    assert_eq!(log[2].server, "instance1", "requests are attributed to the server that got them");
    assert_eq!(log[2].path, "/ocs/v1.php/cloud/user?format=json", "the path includes the query");
    assert!(log[2].ocs_api_request, "the OCS header is noted");

    let serialized = serde_json::to_string(&log).expect("the log serializes");
    assert!(!serialized.contains("secret"), "the password never reaches the log: {serialized}");
    assert!(!format!("{log:?}").contains("secret"), "nor its Debug output");
    server.shutdown().await;
}

#[tokio::test]
async fn latency_delays_every_response() {
    let latency = Duration::from_millis(300);
    let server = start(Scenario { latency, ..Scenario::default() }).await;
    for url in [
        server.central_url().join("status.php").expect("URL"),
        server.instance_urls()["instance3"].join("status.php").expect("URL"),
    ] {
        let started = Instant::now();
        let response = client().get(url.clone()).send().await.expect("answers");
        assert_eq!(response.status(), 200, "{url}: still answers");
        assert!(
            started.elapsed() >= latency,
            "{url}: the answer must take at least the scenario's latency, took {:?}",
            started.elapsed()
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn requests_are_recorded_before_the_latency() {
    // A latency far longer than the test: the request can only be in the log before its answer.
    let server = start(Scenario { latency: Duration::from_secs(600), ..Scenario::default() }).await;
    let url = server.central_url().join("status.php").expect("URL");
    let pending = tokio::spawn(async move { client().get(url).send().await.map(|response| response.status()) });
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.requests().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.requests().len(), 1, "the request is logged while its answer is still delayed");
    assert!(!pending.is_finished(), "the answer is still held back by the latency");
    drop(server);
    pending.abort();
}

async fn connection_refused(url: &Url) -> bool {
    let addr = url.socket_addrs(|| None).expect("socket address").into_iter().next().expect("one address");
    tokio::net::TcpStream::connect(addr).await.is_err()
}

#[tokio::test]
async fn shutdown_closes_every_listener() {
    let server = start(Scenario::default()).await;
    let mut urls = vec![server.central_url().clone()];
    urls.extend(server.instance_urls().values().cloned());
    server.shutdown().await;
    for url in &urls {
        assert!(connection_refused(url).await, "{url} must not accept connections after shutdown");
    }
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish() {
    let server = start(Scenario { latency: Duration::from_millis(300), ..Scenario::default() }).await;
    let url = server.central_url().join("status.php").expect("URL");
    let pending = tokio::spawn(async move { client().get(url).send().await.map(|response| response.status()) });
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.requests().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.shutdown().await;
    let status = pending.await.expect("the client task ran");
    assert_eq!(status.ok(), Some(reqwest::StatusCode::OK), "graceful shutdown answers the request already received");
}

#[tokio::test]
async fn dropping_the_server_stops_it() {
    let server = start(Scenario::default()).await;
    let central = server.central_url().clone();
    drop(server);
    // Aborted tasks release their listeners when the runtime next drops them; give it a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !connection_refused(&central).await && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(connection_refused(&central).await, "a dropped server must release its port");
}

#[tokio::test]
async fn the_seeds_curl_flow_works_in_the_path_layout() {
    // `curl -L -u test@instance3.com:secret <central>/remote.php/webdav/`: curl, like reqwest, keeps the
    // credentials only on the same origin, which ownCloud's example deployment (instances under paths) has.
    let server = start(Scenario { path_instances: true, ..Scenario::default() }).await;
    let following = reqwest::Client::builder().no_proxy().build().expect("a client that follows redirects");
    let response = following
        .get(server.central_url().join("remote.php/webdav/").expect("URL"))
        .basic_auth("test@instance3.com", Some("secret"))
        .send()
        .await
        .expect("the redirect is followed");
    assert_eq!(response.status(), 200, "the instance answers the followed redirect");
    assert_eq!(
        response.url().as_str(),
        format!("{}instance3/remote.php/webdav/", server.central_url()),
        "the client ended up on instance3"
    );
    let body = response.text().await.expect("body");
    assert!(body.starts_with("This is the WebDAV interface."), "ownCloud's notice: {body}");
    server.shutdown().await;
}

/// Two lookup servers in one process, one with a demo file's people and one with the built-in: each serves its own
/// (the people are part of each server's scenario, not of the process).
#[tokio::test]
async fn two_servers_in_one_process_each_serve_their_own_people() {
    let text = include_str!("../../../../docs/examples/demo-acme.toml");
    let acme = crate::Demo::parse(std::path::Path::new("demo-acme.toml"), text).expect("the example is valid");
    let acme = start(Scenario { latency: Duration::ZERO, ..acme.scenario }).await;
    let built_in = start(Scenario::default()).await;
    let product = |server: &LookupServer| {
        let url = server.central_url().join("status.php").expect("URL");
        async move { client().get(url).send().await.expect("answers").json::<Value>().await.expect("JSON") }
    };
    assert_eq!(product(&acme).await["productname"], "ACME Cloud", "the demo file's product name");
    assert_eq!(product(&built_in).await["productname"], "ownCloud", "the other server keeps the built-in one");
    assert_eq!(acme.description().to_json()["users"], json!(["anna@berlin.acme.test", "hannes@hamburg.acme.test"]));
    assert_eq!(built_in.description().to_json()["users"][0], "test@instance1.com", "the built-in people");
    let home = |server: &LookupServer, instance: &str, user: &str, password: &str| {
        let url = server.instance_urls()[instance].join("remote.php/webdav/").expect("URL");
        let request = propfind(&client(), url).basic_auth(user, Some(password));
        async move { request.send().await.expect("answers").status().as_u16() }
    };
    assert_eq!(home(&acme, "berlin", "anna@berlin.acme.test", "acme-demo").await, 207, "anna logs in at ACME's");
    assert_eq!(home(&built_in, "instance1", "test@instance1.com", "secret").await, 207, "the seed's user at the other");
    assert_eq!(
        home(&built_in, "instance1", "anna@berlin.acme.test", "acme-demo").await,
        401,
        "anna is not a person of the built-in demo"
    );
    assert!(!acme.instance_urls().contains_key("instance1"), "ACME's server has its own instances only");
    let jonas = acme.matrix_people().into_iter().any(|person| person.localpart == "jonas");
    let no_jonas = built_in.matrix_people().iter().all(|person| person.localpart != "jonas");
    assert!(jonas && no_jonas, "the Matrix people are each server's too");
    acme.shutdown().await;
    built_in.shutdown().await;
}
