//! Secrets (passwords, tokens) in a type that never shows its content by accident.

use std::fmt;

/// A password or token. `Debug` and `Display` print `[redacted]`; it is not `Serialize`, so it
/// cannot end up in accounts.json, a trace or `--json` output. It is `Deserialize` (a plain JSON
/// string), so a password typed in the desktop app crosses IPC as a `Secret`, never as a `String`
/// a derived `Debug` would print. Read it with [`Secret::expose`] only where it is sent or handed
/// to the keyring.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

/// A login name with its password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: Secret,
}

impl Credentials {
    pub fn new(user: impl Into<String>, password: Secret) -> Self {
        Credentials { user: user.into(), password }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print_their_value() {
        let creds = Credentials::new("alice", Secret::new("hunter2"));
        let shown = format!("{creds:?} {} {:?}", creds.password, creds.password);
        assert!(!shown.contains("hunter2"), "secret leaked into formatting: {shown}");
        assert!(shown.contains("alice"), "the user name is not secret: {shown}");
        assert_eq!(creds.password.expose(), "hunter2", "the value is still there for sending");
    }

    #[test]
    fn a_secret_deserializes_from_a_plain_string_and_still_redacts() {
        #[derive(serde::Deserialize, Debug)]
        struct Login {
            #[allow(dead_code)]
            password: Secret,
        }
        let login: Login = serde_json::from_str(r#"{"password":"hunter2"}"#).expect("a string is a secret");
        assert_eq!(login.password.expose(), "hunter2", "the value arrives as it was sent");
        let shown = format!("{login:?}");
        assert!(!shown.contains("hunter2"), "a derived Debug around it still redacts: {shown}");
        assert!(serde_json::from_str::<Secret>("42").is_err(), "only a string is a secret");
    }
}
