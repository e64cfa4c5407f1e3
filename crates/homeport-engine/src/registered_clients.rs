//! Clients that identity providers registered for Homeport (RFC 7591), kept per issuer so the
//! next connect reuses the client instead of registering a new one each time: the client id and
//! its token-endpoint method in `oidc-clients.json` beside accounts.json, a confidential client's
//! secret in the keyring (service `homeport`, entry `oidc-client-<hash of the issuer>`).
//! Best effort: a client that cannot be kept costs one registration next time, never a connect.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::oidc_client::{ClientMemory, RegisteredClient, TokenAuth};
use crate::secret::Secret;
use crate::store;

/// The file beside accounts.json.
pub const CLIENTS_FILE: &str = "oidc-clients.json";

#[derive(Default, Serialize, Deserialize)]
struct ClientsFile {
    version: u32,
    /// By issuer, exactly as its discovery document names it.
    clients: BTreeMap<String, KeptClient>,
}

#[derive(Clone, Serialize, Deserialize)]
struct KeptClient {
    client_id: String,
    token_auth: TokenAuth,
    /// Whether the keyring holds its secret.
    has_secret: bool,
    /// The path of the redirect URI it was registered with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    redirect_path: Option<String>,
}

/// [`ClientMemory`] in the settings folder and the keyring.
pub struct RegisteredClients {
    dir: PathBuf,
    /// One writer at a time within this process (two connects may register at once).
    lock: Mutex<()>,
}

impl RegisteredClients {
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        RegisteredClients { dir: dir.into(), lock: Mutex::new(()) }
    }

    fn read(&self) -> ClientsFile {
        fs::read(self.dir.join(CLIENTS_FILE))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    fn write(&self, file: &ClientsFile) -> Result<(), store::StoreError> {
        store::create_private_dir(&self.dir)?;
        let mut json = serde_json::to_vec_pretty(file).unwrap_or_default();
        json.push(b'\n');
        store::replace_atomically(&self.dir, CLIENTS_FILE, &json)
    }
}

/// The keyring entry of an issuer's client secret (account entries are `acct-<hex>`: no clash).
fn secret_entry(issuer: &str) -> String {
    let digest = Sha256::digest(issuer.as_bytes());
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("oidc-client-{hex}")
}

impl ClientMemory for RegisteredClients {
    fn recall(&self, issuer: &str) -> Option<RegisteredClient> {
        let kept = self.read().clients.get(issuer).cloned()?;
        let secret = if kept.has_secret {
            // A secret that cannot be read makes the client unusable: register anew.
            let password = store::keyring_entry(&secret_entry(issuer)).ok()?.get_password().ok()?;
            Some(Secret::new(password))
        } else {
            None
        };
        Some(RegisteredClient {
            issuer: issuer.to_owned(),
            client_id: kept.client_id,
            secret,
            token_auth: kept.token_auth,
            redirect_path: kept.redirect_path,
        })
    }

    fn remember(&self, client: &RegisteredClient) {
        let _guard = self.lock.lock();
        if let Some(secret) = &client.secret {
            let kept = store::keyring_entry(&secret_entry(&client.issuer))
                .and_then(|entry| entry.set_password(secret.expose()).map_err(store::keyring_error));
            if kept.is_err() {
                // Without its secret the client is of no use later: keep nothing.
                return;
            }
        }
        let mut file = self.read();
        file.version = 1;
        file.clients.insert(
            client.issuer.clone(),
            KeptClient {
                client_id: client.client_id.clone(),
                token_auth: client.token_auth,
                has_secret: client.secret.is_some(),
                redirect_path: client.redirect_path.clone(),
            },
        );
        let _ = self.write(&file);
    }

    fn forget(&self, issuer: &str) {
        let _guard = self.lock.lock();
        let mut file = self.read();
        if let Some(kept) = file.clients.remove(issuer) {
            if kept.has_secret {
                let _ = store::delete_secret(&secret_entry(issuer));
            }
            let _ = self.write(&file);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_client_is_kept_per_issuer_in_the_file_and_forgotten() {
        let dir = tempfile::tempdir().expect("temp dir");
        let memory = RegisteredClients::at(dir.path());
        assert!(memory.recall("https://idp.example.org").is_none(), "nothing kept yet");
        let client = RegisteredClient {
            issuer: "https://idp.example.org".into(),
            client_id: "c-1".into(),
            secret: None,
            token_auth: TokenAuth::Public,
            redirect_path: Some("/homeport/abc/callback".into()),
        };
        memory.remember(&client);
        assert_eq!(memory.recall("https://idp.example.org"), Some(client), "the same client next time");
        assert!(memory.recall("https://other.example.org").is_none(), "per issuer");
        let file = fs::read_to_string(dir.path().join(CLIENTS_FILE)).expect("the file");
        assert!(file.contains("c-1") && file.contains("\"none\""), "id and method in the file: {file}");
        memory.forget("https://idp.example.org");
        assert!(memory.recall("https://idp.example.org").is_none(), "forgotten");
    }
}
