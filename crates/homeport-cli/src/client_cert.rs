//! `homeport connect --client-cert FILE`: a client certificate (mutual TLS) from a PKCS#12 file,
//! its password from the environment (like the proxy's; standard input is for the account's
//! password). docs/cli.md#client-certificates.

use std::path::Path;

use homeport_engine::client_certificate::ClientIdentity;
use homeport_engine::{Answer, ConnectError, Secret};

use crate::output::Failure;

/// The environment variable `--client-cert`'s password is read from.
pub const CLIENT_CERT_PASSWORD_VAR: &str = "HOMEPORT_CLIENT_CERT_PASSWORD";

fn password() -> Result<Secret, Failure> {
    std::env::var(CLIENT_CERT_PASSWORD_VAR).map(Secret::new).map_err(|_| {
        Failure::bad_input(format!(
            "--client-cert needs the certificate file's password in the environment variable {CLIENT_CERT_PASSWORD_VAR} (empty for none)"
        ))
    })
}

/// The identity `--client-cert` names, for the server typed (a wrong password ends the run, named).
pub fn load(file: &Path) -> Result<ClientIdentity, Failure> {
    ClientIdentity::load(file, &password()?).map_err(|e| {
        let error = ConnectError::ClientCertificate(e);
        let hint = error_hint(&error);
        Failure::new(&error).with_hint(hint)
    })
}

/// `--client-cert`'s answer to another server of the account that asks.
pub fn answer(file: Option<&Path>) -> Result<Answer, Failure> {
    match file {
        Some(file) => Ok(Answer::ClientCertificate { file: file.display().to_string(), password: password()? }),
        None => Ok(Answer::Decline),
    }
}

/// What to do when `server` asks for a certificate and none was given.
pub fn decision_hint(server: &str, issuers: &[String]) -> String {
    let issued = match issuers {
        [] => String::new(),
        names => format!(", issued by {}", names.join(" or ")),
    };
    format!(
        "{server} asks for a client certificate (mutual TLS){issued}: run again with --client-cert FILE (a PKCS#12 file, .p12/.pfx) and its password in {CLIENT_CERT_PASSWORD_VAR}"
    )
}

pub fn error_hint(error: &ConnectError) -> Option<String> {
    match error {
        ConnectError::ClientCertificate(_) => Some(format!("check --client-cert and {CLIENT_CERT_PASSWORD_VAR}")),
        ConnectError::ClientCertificateRefused { .. } => Some(
            "the server does not accept this certificate: ask its administrator which one it accepts, and pass that with --client-cert".into(),
        ),
        _ => None,
    }
}
