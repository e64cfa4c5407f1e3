//! Nextcloud's Login Flow v2 answers (`nextcloud::LoginFlow::parse`, `nextcloud::parse_poll`) and
//! the app password exchange (`nextcloud::parse_app_password`). The first byte chooses the parser
//! (and the poll's status). Promise: no panic; the poll endpoint is on the server that started the
//! flow (its answer carries the app password); only a 200 poll grants, with a login name and an
//! app password; only a 404 waits.
#![no_main]

use homeport_engine::nextcloud::{self, LoginFlow, Polled};
use homeport_engine::Origin;
use libfuzzer_sys::fuzz_target;
use url::Url;

fuzz_target!(|data: &[u8]| {
    let [choice, body @ ..] = data else { return };
    let url = Url::parse("https://cloud.example/index.php/login/v2").expect("url");
    match choice % 5 {
        0 => {
            let Ok(flow) = LoginFlow::parse(&url, body) else { return };
            assert_eq!(Origin::of(&flow.endpoint), Origin::of(&url), "poll endpoint {} elsewhere", flow.endpoint);
            assert!(matches!(flow.login.scheme(), "http" | "https"), "login {}", flow.login);
            assert!(!flow.token.is_empty(), "empty poll token accepted");
            let _ = flow.poll_body();
        }
        1 => {
            let Ok(password) = nextcloud::parse_app_password(&url, body) else { return };
            assert!(!password.is_empty(), "empty app password accepted");
        }
        n => {
            let status = [200u16, 404, 403][n as usize - 2];
            match nextcloud::parse_poll(&url, status, body) {
                Ok(Polled::Waiting) => assert_eq!(status, 404, "waiting on a {status}"),
                Ok(Polled::Granted(grant)) => {
                    assert_eq!(status, 200, "granted on a {status}");
                    assert!(!grant.credentials.user.trim().is_empty(), "blank login name");
                    assert!(!grant.credentials.password.is_empty(), "empty app password");
                    assert!(grant.server.as_url().path().ends_with('/'), "server {}", grant.server);
                }
                Err(_) => assert!(status != 404, "a 404 poll is not an error"),
            }
        }
    }
});
