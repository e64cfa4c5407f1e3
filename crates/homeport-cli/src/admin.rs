//! The administrators' configuration as the CLI honours it (docs/administrators.md): `connect`
//! and `accounts verify` accept only the servers it allows, its OpenID Connect clients and proxy
//! apply as the desktop's settings do, and a locked key refuses the flag that would change it.

use homeport_engine::admin_config::{AdminConfig, PolicyRefusal};

use crate::output::Failure;

/// The system's file (or `HOMEPORT_SYSTEM_CONFIG`'s); a broken one stops the command with its
/// file, line and key: running as if it were not there would ignore what the organisation locked.
pub fn load() -> Result<AdminConfig, Failure> {
    AdminConfig::load()
        .map_err(|e| Failure::report(e.report()).with_hint(Some("ask your administrators to fix the file".into())))
}

/// `policy_refused` (exit 7), with the words saying who decided.
pub fn refused(refusal: PolicyRefusal) -> Failure {
    Failure::report(refusal.report())
        .with_hint(Some("your organisation's administrators decide this (docs/administrators.md)".into()))
}
