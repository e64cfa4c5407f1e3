//! A connected account as `homeport connect` tells it: the story for a person, the object for
//! `--json`.

use std::time::Instant;

use homeport_engine::account::format_unix;
use homeport_engine::owncloud::initials;
use homeport_engine::{AccountStore, Connected, SaveOutcome};

use crate::words;

pub(super) fn connected_json(connected: &Connected, stored: Option<SaveOutcome>) -> serde_json::Value {
    serde_json::json!({
        "status": "connected",
        "account": connected.account,
        "stored": stored.is_some(),
        // The same login at the same instance was already stored: its login was updated.
        "replaced": stored == Some(SaveOutcome::Replaced),
        "server": { "product": connected.server.describe(), "status": connected.server },
        "redirects": connected.redirects,
        "avatar": connected.avatar.is_some(),
        "round_trips": connected.round_trips,
        "trace": connected.trace,
    })
}

pub(super) fn story(connected: &Connected, store: Option<&(AccountStore, SaveOutcome)>, started: Instant) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let account = &connected.account;
    let _ = writeln!(out);
    let _ = writeln!(out, "✓ Connected: {} ({})", account.display_name, account.user_id);
    let _ = writeln!(out, "  Server      {} at {}", connected.server.describe(), account.server_url);
    for hop in &connected.redirects {
        let kind = if hop.permanent {
            "permanent: Homeport connects there directly from now on"
        } else {
            "temporary: the server is asked again next time"
        };
        let _ = writeln!(out, "  Redirected  {} to {} ({kind})", hop.status, hop.to);
    }
    match &account.matrix {
        Some(matrix) => {
            if account.instance_url != account.server_url {
                let _ = writeln!(
                    out,
                    "  Portal      {} sent Homeport to the homeserver below (MSC1730)",
                    account.server_url
                );
            }
            let _ = writeln!(
                out,
                "  Homeserver  {} — Matrix {}, device {}",
                account.instance_url, account.version, matrix.device_id
            );
            if let Some(oauth) = &matrix.oauth {
                let _ =
                    writeln!(out, "  Logged in   at {} (Matrix OAuth 2.0, client {})", oauth.issuer, oauth.client_id);
            }
            if let Some(page) = &matrix.account_management_uri {
                let _ = writeln!(out, "  Account     {page} (devices, password: managed at the server)");
            }
        }
        None => {
            let _ = writeln!(out, "  Instance    {} — {} {}", account.instance_url, account.product, account.version);
        }
    }
    if let Some(oidc) = &account.oidc {
        let _ = writeln!(out, "  Identity    {} (OpenID Connect, client {})", oidc.issuer, oidc.client_id);
        if let Some(words) = oidc.login_end_words(homeport_engine::account::now_unix()) {
            let _ = writeln!(out, "  Login       {words}");
        }
    }
    if let Some(tenant) = &account.tenant {
        let _ = writeln!(out, "  Tenant      {} (identity zone {})", tenant.tenant, tenant.zone_id);
        let scopes = if tenant.scopes.is_empty() { "none".to_owned() } else { tenant.scopes.join(", ") };
        let _ = writeln!(out, "  Scopes      {scopes}");
    }
    let _ = match &connected.avatar {
        Some(png) => writeln!(out, "  Avatar      {} bytes", png.len()),
        None if account.matrix.is_some() => Ok(()),
        None => writeln!(out, "  Avatar      none set (shown as initials {})", initials(&account.display_name)),
    };
    let _ = match store {
        Some((_, SaveOutcome::Replaced)) => writeln!(
            out,
            "  Stored      already connected as account {}: updated its login (details and {}), no second account",
            account.id,
            words::secret(account)
        ),
        Some((store, SaveOutcome::Added)) => writeln!(
            out,
            "  Stored      account {} in {}; {} in the system keyring",
            account.id,
            store.accounts_path().display(),
            words::secret(account)
        ),
        None => writeln!(out, "  Not stored  (--no-store)"),
    };
    let _ = writeln!(
        out,
        "  Took        {}, {} ms, verified {}",
        words::round_trips(connected.round_trips),
        started.elapsed().as_millis(),
        format_unix(account.verified_at)
    );
    out
}
