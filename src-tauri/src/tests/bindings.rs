//! The committed TypeScript bindings are what the Rust IPC types generate today.

use std::path::Path;

/// The committed TypeScript must be what the Rust types generate today.
/// `HOMEPORT_WRITE_BINDINGS=1` (`./dev.sh bindings`) rewrites it instead.
#[test]
fn typescript_bindings_are_up_to_date() {
    let committed_path = Path::new(env!("CARGO_MANIFEST_DIR")).join(crate::BINDINGS_PATH);
    if std::env::var_os("HOMEPORT_WRITE_BINDINGS").is_some() {
        crate::export_bindings(&committed_path).expect("write bindings");
        return;
    }
    let scratch = tempfile::tempdir().expect("scratch dir");
    let fresh_path = scratch.path().join("bindings.ts");
    crate::export_bindings(&fresh_path).expect("export bindings");
    let fresh = std::fs::read_to_string(&fresh_path).expect("read fresh bindings");
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
    assert!(
        fresh == committed,
        "{} is stale: the IPC types changed. Run `./dev.sh bindings` and commit the result.",
        crate::BINDINGS_PATH
    );
}
