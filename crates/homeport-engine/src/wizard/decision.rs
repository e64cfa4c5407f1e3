//! What the wizard asks (a [`Decision`]) and what it returns ([`Step`]): the shells show a
//! decision as a page, a flag or a scenario key; the wizard never prompts.

use serde::Serialize;

use crate::account::Account;
use crate::address::Origin;
use crate::error::ConnectError;
use crate::oidc::InstanceLink;
use crate::owncloud::{Capabilities, ServerStatus};
use crate::redirect::{Hop, RedirectRefusal};
use crate::secret::Secret;
use crate::trace::Exchange;

/// Which protocol a decision belongs to, so a shell words it without reading URLs or product
/// names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// ownCloud's WebDAV with Basic credentials (ownCloud 10).
    Owncloud,
    /// Nextcloud: Login Flow v2 in the browser, app passwords (docs/protocols/nextcloud-login-flow.md).
    Nextcloud,
    /// OpenID Connect (oCIS, tenants' identity zones).
    Oidc,
    /// The Matrix client-server API (password login, SSO).
    Matrix,
    /// Matrix's OAuth 2.0 API: the login happens at the homeserver's authorization server
    /// (docs/protocols/matrix-oauth.md).
    MatrixOauth,
}

/// The secret a redirect would carry to its new origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Resent {
    /// The user name and password (Basic, or a Matrix password login's body).
    Password,
    /// A Matrix SSO login token.
    LoginToken,
    /// The app password a Nextcloud Login Flow v2 grant handed out, for the node it names.
    AppPassword,
}

/// A question for the person (or the script) driving the wizard.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// `url` is plain http and not on this machine: passwords and tokens would travel readable.
    /// The typed server, or another origin met on the way (a redirect's target, a discovered
    /// instance or identity provider): each origin is asked about. Answer with
    /// [`Wizard::allow_plain_http`] and the origin of `url`.
    ConfirmPlainHttp { url: String },
    /// Answer with [`Wizard::set_credentials`].
    NeedsCredentials {
        server: String,
        realm: Option<String>,
        login_hint: Option<String>,
        product: String,
        /// The server also offers a login in the browser (Matrix SSO): answer with
        /// [`Wizard::prefer_browser_login`] instead of credentials.
        browser_login: bool,
        protocol: Protocol,
    },
    /// The server sends the login elsewhere; credentials go along only if approved with
    /// [`Wizard::approve_origin`].
    ConfirmRedirect {
        from: Origin,
        to: Origin,
        location: String,
        status: u16,
        permanent: bool,
        /// What following the redirect sends to `to`.
        resends: Resent,
        protocol: Protocol,
    },
    /// Log in in the system browser at `url`, then call [`Wizard::next`]: it waits for the
    /// browser's answer on a loopback port (RFC 8252). `issuer` is where the password goes;
    /// `issuer_elsewhere`: it is on another site than `server`, the one the person typed — show
    /// both, and continuing is the person's consent that the provider's tokens go to `server`.
    OpenBrowser { url: String, issuer: String, server: String, issuer_elsewhere: bool, protocol: Protocol },
    /// The identity provider logged in `logged_in`, not `typed` (the person was logged in there
    /// as someone else): continue as that user ([`crate::Answer::ContinueAsLoggedInUser`]), or
    /// decline and start over.
    ConfirmUser { typed: String, logged_in: String, display_name: Option<String> },
    /// The server names several instances for the account: answer with
    /// [`Wizard::choose_instance`].
    ChooseInstance { instances: Vec<InstanceLink> },
    /// The server's certificate is not issued by an authority this computer trusts (self-signed,
    /// a private CA). Trusting it pins exactly this certificate for this account: answer with
    /// [`Wizard::trust_certificate`] and `certificate.sha256`.
    TrustCertificate { url: String, certificate: crate::certificate::CertificateInfo },
    /// The server `server` (`host:port`) asks for a client certificate (mutual TLS) and none is
    /// set for it: answer with [`crate::Answer::ClientCertificate`] (a PKCS#12 file and its
    /// password; the wizard then starts over presenting it there), or decline. `issuers`: the
    /// authorities the server accepts certificates from, as it said (may be empty).
    ClientCertificate { url: String, server: String, issuers: Vec<String> },
}

impl Decision {
    /// What declining this decision means, as an error.
    pub fn declined(&self) -> ConnectError {
        match self {
            Decision::ConfirmPlainHttp { url } => ConnectError::PlainHttpRefused { url: url.clone() },
            Decision::NeedsCredentials { server, .. } => ConnectError::CredentialsRequired { server: server.clone() },
            Decision::ConfirmRedirect { to, .. } => {
                ConnectError::RedirectRefused(RedirectRefusal::NotApproved { to: to.clone() })
            }
            Decision::OpenBrowser { issuer, server, issuer_elsewhere: true, .. } => {
                ConnectError::IssuerNotApproved { server: server.clone(), issuer: issuer.clone() }
            }
            Decision::OpenBrowser { .. } => {
                ConnectError::LoginRefused { reason: "the login in the browser was not started".into() }
            }
            Decision::ConfirmUser { typed, logged_in, .. } => {
                ConnectError::OtherUserLoggedIn { typed: typed.clone(), logged_in: logged_in.clone() }
            }
            Decision::ChooseInstance { instances } => ConnectError::InstanceNotChosen { offered: instances.len() },
            Decision::TrustCertificate { url, certificate } => {
                ConnectError::CertificateUntrusted { url: url.clone(), certificate: Box::new(certificate.clone()) }
            }
            Decision::ClientCertificate { url, server, issuers } => ConnectError::ClientCertificateRequired {
                url: url.clone(),
                server: server.clone(),
                issuers: issuers.clone(),
            },
        }
    }
}

#[derive(Debug)]
pub enum Step {
    Decide(Decision),
    Connected(Box<Connected>),
}

/// A verified account, ready to be stored.
#[derive(Debug)]
pub struct Connected {
    pub account: Account,
    pub secret: Secret,
    /// status.php of the server that was asked first.
    pub server: ServerStatus,
    pub capabilities: Capabilities,
    /// The password of the account's client certificate ([`Account::client_certificate`]), for
    /// the keyring beside [`Connected::secret`].
    pub client_certificate_password: Option<Secret>,
    /// PNG bytes, or None: show initials.
    pub avatar: Option<Vec<u8>>,
    pub redirects: Vec<Hop>,
    pub round_trips: u32,
    pub trace: Vec<Exchange>,
}

pub(super) fn confirm_redirect(hop: &Hop, resends: Resent, protocol: Protocol) -> Decision {
    Decision::ConfirmRedirect {
        from: Origin::of(&hop.from),
        to: Origin::of(&hop.to),
        location: hop.to.to_string(),
        status: hop.status,
        permanent: hop.permanent,
        resends,
        protocol,
    }
}

pub(super) fn matrix_resent(sso: bool) -> Resent {
    if sso {
        Resent::LoginToken
    } else {
        Resent::Password
    }
}
