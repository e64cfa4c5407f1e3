//! The desktop shell (Tauri 2) comes with the desktop-app issue; until then this binary only
//! points to the CLI, which drives the same engine.

fn main() {
    println!(
        "homeport-desktop {}: the desktop wizard is not built yet; use the `homeport` CLI \
         (`homeport connect`, `homeport mock`), which drives the same engine.",
        env!("CARGO_PKG_VERSION")
    );
    // Link the engine so the shell's dependency on it is real from the start.
    let _ = homeport_engine::Address::parse("https://example.com");
}
