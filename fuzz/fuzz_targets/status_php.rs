//! `status.php` (`owncloud::ServerStatus::parse`). Promise: no panic; what it reads, written back
//! as JSON, reads the same; `describe` always names a product.
#![no_main]

use homeport_engine::{nextcloud, owncloud::ServerStatus};
use libfuzzer_sys::fuzz_target;
use url::Url;

fuzz_target!(|data: &[u8]| {
    let url = Url::parse("https://cloud.example/status.php").expect("url");
    let Ok(status) = ServerStatus::parse(&url, data) else { return };
    let _ = status.not_ready();
    let _ = nextcloud::is_nextcloud(&status);
    assert!(!status.describe().is_empty(), "{status:?}: describe names nothing");
    let written = serde_json::to_vec(&status).expect("a status serialises");
    let again = ServerStatus::parse(&url, &written).expect("its own JSON parses");
    assert_eq!(again, status, "the status changed on a round trip through {}", String::from_utf8_lossy(&written));
});
