//! The questions `homeport connect` asks at a terminal when no flag answered a decision
//! (docs/cli.md#at-a-terminal-homeport-asks): each says in one line what yes means — the same
//! facts the error and its hint give a script — and an empty answer or Ctrl-D is no.

use homeport_engine::certificate::CertificateInfo;
use homeport_engine::oidc::InstanceLink;
use homeport_engine::{Answer, Decision, Origin};

use super::{BrowserMode, ConnectArgs};
use crate::output::say;
use crate::prompt;

/// How many passwords a person may type before the run ends (as ssh's three).
pub(super) const PASSWORD_TRIES: u32 = 3;

/// Whether the person gave the flag for this kind of decision: then it is answered by the flag
/// (or refused, named), never asked.
pub(super) fn flag_given(decision: &Decision, args: &ConnectArgs) -> bool {
    match decision {
        Decision::ConfirmRedirect { .. } => !args.approve_redirect.is_empty(),
        Decision::ConfirmPlainHttp { .. } => !args.allow_plain_http.is_empty(),
        Decision::TrustCertificate { .. } => !args.trust_cert.is_empty(),
        Decision::ClientCertificate { .. } => args.client_cert.is_some(),
        Decision::ChooseInstance { .. } => args.instance.is_some(),
        Decision::OpenBrowser { issuer_elsewhere: true, .. } => {
            !args.oidc.approve_issuer.is_empty() || args.browser == Some(BrowserMode::AutoLogin)
        }
        Decision::OpenBrowser { .. } => args.browser.is_some(),
        Decision::ConfirmUser { .. } => args.oidc.continue_as.is_some(),
        Decision::NeedsCredentials { .. } => args.password_stdin,
    }
}

/// Asks about `decision`; None is no (the run ends with the decision's refusal and its hint).
/// `user` is the login name known already (`--user`, or the address's).
/// `browser`: how `--browser` said to open a login page (else the person is asked).
pub(super) async fn ask(
    decision: &Decision,
    user: Option<&str>,
    browser: Option<BrowserMode>,
    json: bool,
) -> Option<Answer> {
    match decision {
        Decision::NeedsCredentials { server, login_hint, .. } => {
            let user = match user.or(login_hint.as_deref()) {
                Some(user) => user.to_owned(),
                None => prompt::line(format!("  User name for {server}: ")).await.filter(|user| !user.is_empty())?,
            };
            let password = prompt::password(format!("  Password for {user} at {server}: ")).await?;
            (!password.expose().is_empty()).then_some(Answer::Credentials { user, password })
        }
        Decision::ConfirmRedirect { from, to, .. } => {
            prompt::tell(&format!("  {from} sends your login to {to}: yes sends your password (or token) there.\n"));
            let yes = prompt::yes(format!("  Send your login to {to}? [y/N] "), false).await;
            yes.then(|| Answer::ApproveRedirect { origin: to.clone() })
        }
        Decision::ConfirmPlainHttp { url } => {
            let origin = url::Url::parse(url).map(|url| Origin::of(&url).to_string()).unwrap_or_else(|_| url.clone());
            prompt::tell(&format!(
                "  {origin} uses plain http: yes sends your password there readable by anyone on the network.\n"
            ));
            prompt::yes(format!("  Use plain http to {origin}? [y/N] "), false).await.then_some(Answer::AllowPlainHttp)
        }
        Decision::TrustCertificate { url, certificate } => trust(url, certificate).await,
        Decision::ClientCertificate { server, issuers, .. } => {
            let issued = match issuers.as_slice() {
                [] => String::new(),
                names => format!(", issued by {}", names.join(" or ")),
            };
            prompt::tell(&format!(
                "  {server} asks for a client certificate (mutual TLS){issued}: Homeport presents it to that server only.\n"
            ));
            let file = prompt::line("  Certificate file (PKCS#12, .p12/.pfx; empty for none): ".into())
                .await
                .filter(|file| !file.is_empty())?;
            let password = prompt::password(format!("  Password of {file} (empty for none): ")).await?;
            Some(Answer::ClientCertificate { file, password })
        }
        Decision::ChooseInstance { instances } => choose(instances).await,
        Decision::OpenBrowser { issuer, server, issuer_elsewhere: true, .. } => {
            prompt::tell(&format!(
                "  {server} logs in at {issuer}, on another site: yes sends your password there, and its tokens to {server}.\n"
            ));
            if !prompt::yes(format!("  Log in at {issuer}? [y/N] "), false).await {
                return None;
            }
            open_browser(decision, browser, json).await
        }
        Decision::OpenBrowser { .. } => open_browser(decision, browser, json).await,
        Decision::ConfirmUser { typed, logged_in, .. } => {
            prompt::tell(&format!(
                "  The identity provider logged you in as {logged_in}, not {typed}: yes connects {logged_in}'s account.\n"
            ));
            let yes = prompt::yes(format!("  Go on as {logged_in}? [y/N] "), false).await;
            yes.then_some(Answer::ContinueAsLoggedInUser)
        }
    }
}

/// "Open the browser to log in? [Y/n]": yes opens it as `--browser system` does (a `--browser`
/// given says how, and is not asked again).
async fn open_browser(decision: &Decision, browser: Option<BrowserMode>, json: bool) -> Option<Answer> {
    let Decision::OpenBrowser { url, .. } = decision else { return None };
    if browser.is_none() && !prompt::yes("  Open the browser to log in? [Y/n] ".into(), true).await {
        return None;
    }
    open_login_page(Some(browser.unwrap_or(BrowserMode::System)), url, json);
    Some(Answer::ContinueInBrowser)
}

async fn trust(url: &str, certificate: &CertificateInfo) -> Option<Answer> {
    let at = url::Url::parse(url)
        .ok()
        .and_then(|url| Some(format!("{}:{}", url.host_str()?, url.port_or_known_default()?)))
        .unwrap_or_else(|| url.to_owned());
    prompt::tell(&format!(
        "  {at} presents a certificate this computer does not trust:\n    issued to  {}\n    issued by  {}\n    valid      {} to {}\n    SHA-256    {}\n  Compare the fingerprint with the one the server's administrator gave you: yes trusts exactly this certificate, for this account, at {at} only.\n",
        certificate.subject, certificate.issuer, certificate.not_before, certificate.not_after, certificate.sha256
    ));
    let yes = prompt::yes("  Trust this certificate? [y/N] ".into(), false).await;
    yes.then(|| Answer::TrustCertificate { sha256: certificate.sha256.clone() })
}

/// The instances as a numbered list; the number typed picks one.
async fn choose(instances: &[InstanceLink]) -> Option<Answer> {
    let mut list = String::from("  The account lives on several instances:\n");
    for (number, instance) in instances.iter().enumerate() {
        let title = instance.title.as_deref().map(|title| format!("  {title}")).unwrap_or_default();
        list.push_str(&format!("    {}) {}{title}\n", number + 1, instance.url));
    }
    prompt::tell(&list);
    let answer = prompt::line(format!("  Use which one? [1-{}, empty for none] ", instances.len())).await?;
    let chosen = answer.parse::<usize>().ok().and_then(|number| instances.get(number.checked_sub(1)?))?;
    Some(Answer::ChooseInstance { instance: chosen.url.clone() })
}

/// Shows the login link (on stderr with --json, so stdout stays one object) and, for `system`,
/// hands it to the desktop's browser. The wizard then waits for the browser's answer.
pub(super) fn open_login_page(mode: Option<BrowserMode>, url: &str, json: bool) {
    let line = format!("Log in in your browser: {url}");
    if json {
        eprintln!("{line}");
    } else {
        say!("  {line}\n");
    }
    if mode == Some(BrowserMode::System) {
        if let Err(reason) = homeport_scenario::open_system_browser(url) {
            eprintln!("  {reason}");
        }
    }
}
