use super::*;
use crate::secret::Secret;

#[test]
fn a_client_with_a_proxy_never_shows_its_password() {
    for url in ["http://127.0.0.1:3128", "socks5://127.0.0.1:1080"] {
        let proxy = ProxySettings::parse(url, Some("alice".into()), Some(Secret::new("hunter2"))).expect("a proxy");
        let config = HttpConfig { proxy: Some(proxy), ..HttpConfig::default() };
        let client = HttpClient::new(config, Trace::new(None)).expect("a client");
        let shown = format!("{client:?}");
        assert!(shown.contains("127.0.0.1"), "the proxy is shown: {shown}");
        assert!(!shown.contains("hunter2"), "Debug of the client (and of reqwest's inside) hides it: {shown}");
    }
}

fn request() -> HttpRequest {
    let url = Url::parse("https://cloud.example.com/remote.php/webdav/").expect("a URL");
    HttpRequest::new(Method::GET, url, Participant::Lookup)
}

#[test]
fn a_request_never_shows_a_password_a_token_or_a_secret_body() {
    let requests = [
        request().auth(Auth::Basic(Credentials::new("alice", Secret::new("hunter2")))),
        request().auth(Some(Credentials::new("alice", Secret::new("hunter2"))).into()),
        request().auth(Auth::Bearer(Secret::new("ACCESS-1"))),
        request().header("Authorization", "Bearer ACCESS-1"),
        request().secret_body(r#"{"type":"m.login.password","password":"hunter2"}"#),
    ];
    for request in requests {
        let shown = format!("{request:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("ACCESS-1"), "Debug leaks a secret: {shown}");
        assert!(shown.contains("cloud.example.com"), "the rest stays readable: {shown}");
    }
    let basic = format!("{:?}", request().auth(Auth::Basic(Credentials::new("alice", Secret::new("x")))));
    assert!(basic.contains("alice") && basic.contains("Basic"), "the scheme and user name are no secret: {basic}");
    let plain = format!("{:?}", request().body("<d:propfind/>"));
    assert!(plain.contains("<d:propfind/>"), "an ordinary body is shown: {plain}");
}

#[test]
fn every_auth_and_a_secret_body_carry_credentials() {
    assert!(!request().carries_credentials(), "nothing to protect");
    assert!(!request().auth(None::<Credentials>.into()).carries_credentials(), "no credentials given");
    assert!(request().auth(Some(Credentials::new("a", Secret::new("p"))).into()).carries_credentials());
    assert!(request().auth(Auth::Bearer(Secret::new("t"))).carries_credentials(), "a token is a credential");
    assert!(request().secret_body("password=p").carries_credentials(), "a password in the body");
    let mut dropped = request().secret_body("password=p");
    dropped.body = None;
    assert!(!dropped.carries_credentials(), "a redirect that drops the body drops the secret");
}
