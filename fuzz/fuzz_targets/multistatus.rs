//! A WebDAV 207 multistatus body (`owncloud::check_multistatus`), and the DAV URL it came from
//! (`owncloud::base_of_dav_url`). Promise: no panic; a body accepted as whole ends with the
//! closing `multistatus` tag.
#![no_main]

use homeport_engine::owncloud;
use libfuzzer_sys::fuzz_target;
use url::Url;

fuzz_target!(|data: &[u8]| {
    let url = Url::parse("https://cloud.example/remote.php/webdav/").expect("url");
    if owncloud::check_multistatus(&url, data).is_ok() {
        let text = String::from_utf8_lossy(data);
        assert!(text.trim_end().ends_with("multistatus>"), "a body not closing multistatus was accepted: {text:?}");
    }
    if let Ok(path) = std::str::from_utf8(data) {
        if let Ok(dav) = url.join(path) {
            if let Some(base) = owncloud::base_of_dav_url(&dav) {
                assert!(base.as_url().path().ends_with('/'), "{dav} → {base}");
            }
        }
    }
});
