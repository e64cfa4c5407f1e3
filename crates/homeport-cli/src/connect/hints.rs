//! What to do next, in words that fit the command that was run: for a decision no flag
//! answered, and for an error.

use homeport_engine::wizard::Protocol;
use homeport_engine::{ConnectError, Decision, Origin};

use super::{BrowserMode, ConnectArgs, PROXY_PASSWORD_VAR};
use crate::client_cert;

pub(super) fn answer_hint(decision: &Decision, args: &ConnectArgs) -> String {
    match decision {
        Decision::ConfirmRedirect { from, to, .. } => format!(
            "{from} sends your login to {to}. Homeport sends your password there only if you approve: run again with --approve-redirect {to}"
        ),
        Decision::ConfirmPlainHttp { url } => {
            let origin = url::Url::parse(url).map(|url| Origin::of(&url).to_string()).unwrap_or_else(|_| url.clone());
            format!("use https://, or run again with --allow-plain-http={origin} if you trust this network")
        }
        // The address may name the user already (alice@example.com): then the password is all.
        Decision::NeedsCredentials { .. } if user_in_address(args) => {
            "pass --password-stdin (the password on standard input; the address names the user)".into()
        }
        Decision::NeedsCredentials { .. } => "pass --user NAME --password-stdin (the password on standard input)".into(),
        Decision::OpenBrowser { issuer, server, issuer_elsewhere: true, .. } => format!(
            "{server} logs in at {issuer}, which is on another site: your password goes there, and its tokens then go to {server}. If you expected that, run again with --approve-issuer {}",
            url::Url::parse(issuer).map(|url| Origin::of(&url).to_string()).unwrap_or_else(|_| issuer.clone())
        ),
        Decision::ConfirmUser { typed, logged_in, .. } => format!(
            "the identity provider logged you in as {logged_in}, not {typed}: log out there (or use a private window) and run again, or run again with --continue-as {logged_in}"
        ),
        Decision::OpenBrowser { protocol: Protocol::Nextcloud, .. } => {
            "this Nextcloud server logs in in the browser (Login Flow v2): run again with --browser system (or --browser print), or --user NAME --password-stdin".into()
        }
        Decision::OpenBrowser { issuer, protocol: Protocol::MatrixOauth, .. } => format!(
            "this homeserver logs in in the browser, at {issuer}: run again with --browser system (or --browser print)"
        ),
        Decision::OpenBrowser { issuer, .. } => format!(
            "this server logs in with OpenID Connect at {issuer}, in the browser: run again with --browser system (or --browser print)"
        ),
        Decision::ChooseInstance { .. } => {
            format!("the account lives on several instances: run again with --instance URL, one of {}", offered_instances(decision))
        }
        Decision::ClientCertificate { server, issuers, .. } => client_cert::decision_hint(server, issuers),
        Decision::TrustCertificate { certificate, .. } => format!(
            "the certificate is issued to {} by {}, valid {} to {}. If its fingerprint is the one the server's administrator gave you, run again with --trust-cert {}",
            certificate.subject, certificate.issuer, certificate.not_before, certificate.not_after, certificate.sha256
        ),
    }
}

pub(super) fn offered_instances(decision: &Decision) -> String {
    match decision {
        Decision::ChooseInstance { instances } => {
            instances.iter().map(|i| i.url.to_string()).collect::<Vec<_>>().join(", ")
        }
        _ => String::new(),
    }
}

pub(super) fn error_hint(error: &ConnectError, args: &ConnectArgs) -> Option<String> {
    match error {
        ConnectError::AuthFailed { .. } => Some("check the user name and password and try again".into()),
        ConnectError::ClientCertificate(_) | ConnectError::ClientCertificateRefused { .. } => {
            client_cert::error_hint(error)
        }
        ConnectError::ProxyFailed { .. } => Some(format!(
            "check --proxy (is the proxy running?), --proxy-user and {PROXY_PASSWORD_VAR}; without --proxy, Homeport uses HTTPS_PROXY/HTTP_PROXY/ALL_PROXY"
        )),
        ConnectError::Timeout { seconds, .. } => Some(format!(
            "the server took longer than {seconds} s to answer: is it running, and is the network slow? Give it longer with --timeout SECS"
        )),
        ConnectError::Unreachable { .. } => {
            Some("check the address and your network connection; is the server running?".into())
        }
        ConnectError::UnexpectedStatus { url, status: 404, .. } if url.ends_with("/.well-known/openid-configuration") => {
            Some("the server names no identity provider; if it serves tenants by host, pass --tenant-pattern and --tenant-issuer".into())
        }
        ConnectError::LoginExpired { .. } => Some(format!("log in again: homeport connect {} --browser system", args.address)),
        // Said to someone who already printed the link: open it at once; else, print it.
        ConnectError::BrowserLoginTimedOut { seconds } if args.browser == Some(BrowserMode::Print) => Some(format!(
            "open the printed link and finish the login within {} minutes of running the command",
            seconds / 60
        )),
        ConnectError::BrowserLoginTimedOut { .. } => Some(
            "finish the login in the browser sooner; if no browser opened, run again with --browser print and open the link yourself".into(),
        ),
        _ => None,
    }
}

/// `--password-stdin` alone would do: the address names the user (docs/cli.md).
fn user_in_address(args: &ConnectArgs) -> bool {
    homeport_engine::Address::parse(&args.address).ok().and_then(|address| address.user()).is_some()
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[derive(clap::Parser)]
    struct Command {
        #[command(flatten)]
        args: ConnectArgs,
    }

    fn args(line: &[&str]) -> ConnectArgs {
        Command::try_parse_from([&["connect"], line].concat()).expect("valid flags").args
    }

    #[test]
    fn a_timed_out_browser_login_is_not_told_to_use_the_flag_it_used() {
        let timed_out = ConnectError::BrowserLoginTimedOut { seconds: 300 };
        let printed =
            error_hint(&timed_out, &args(&["https://cloud.example.com", "--browser", "print"])).expect("a hint");
        assert!(!printed.contains("--browser print"), "they printed the link already: {printed}");
        assert!(printed.contains("5 minutes"), "how long the link waits: {printed}");
        let system =
            error_hint(&timed_out, &args(&["https://cloud.example.com", "--browser", "system"])).expect("a hint");
        assert!(system.contains("--browser print"), "no browser opened, maybe: {system}");
    }

    #[test]
    fn credentials_hints_leave_out_what_the_address_says() {
        let needs = Decision::NeedsCredentials {
            server: "https://cloud.example.com/".into(),
            realm: None,
            login_hint: None,
            product: "ownCloud".into(),
            browser_login: false,
            protocol: Protocol::Owncloud,
        };
        let named = answer_hint(&needs, &args(&["alice@cloud.example.com"]));
        assert!(named.contains("--password-stdin") && !named.contains("--user"), "{named}");
        let bare = answer_hint(&needs, &args(&["https://cloud.example.com"]));
        assert!(bare.contains("--user NAME --password-stdin"), "{bare}");
        let expired = error_hint(&ConnectError::LoginExpired { reason: "r".into() }, &args(&["https://c.example/"]));
        assert_eq!(expired.as_deref(), Some("log in again: homeport connect https://c.example/ --browser system"));
    }
}
