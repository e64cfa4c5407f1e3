//! A small, fixed home folder and the `207 Multi-Status` documents ownCloud 10 sends for it.

use std::fmt::Write as _;

use super::xml_escape;

/// One file or folder of every demo user's home. Paths are relative to the home, folders end with `/`.
#[derive(Debug)]
pub(crate) struct Resource {
    pub(crate) path: &'static str,
    file_id: u32,
    /// Quoted, as SabreDAV sends it in `getetag` and the `ETag` header; fixed, since the demo home never changes.
    etag: &'static str,
    last_modified: &'static str,
    /// What a GET of a file answers (a short stand-in for the document); empty for folders. Every size the
    /// server reports derives from it: a sync client refuses a download whose length differs from the listing.
    content: &'static [u8],
    content_type: Option<&'static str>,
}

impl Resource {
    pub(crate) fn is_collection(&self) -> bool {
        self.path.is_empty() || self.path.ends_with('/')
    }

    /// The MIME type served on GET (files only).
    pub(crate) fn content_type(&self) -> &'static str {
        self.content_type.unwrap_or("application/octet-stream")
    }

    /// The entity tag, quoted: `getetag` and the `ETag` (and oCIS's `OC-ETag`) header of GET and HEAD.
    pub(crate) fn etag(&self) -> &'static str {
        self.etag
    }

    /// `getlastmodified` and the `Last-Modified` header, in HTTP's date format.
    pub(crate) fn last_modified(&self) -> &'static str {
        self.last_modified
    }

    /// The body of a GET (files; empty for folders).
    pub(crate) fn content(&self) -> &'static [u8] {
        self.content
    }

    /// The last path segment (`""` for the home).
    pub(crate) fn name(&self) -> &'static str {
        let trimmed = self.path.trim_end_matches('/');
        trimmed.rsplit('/').next().unwrap_or(trimmed)
    }

    /// ownCloud's `oc:id` (and oCIS's `OC-FileId` header): the file id padded to 8 digits, then the instance id.
    pub(crate) fn oc_id(&self, instance_tag: &str) -> String {
        format!("{:08}{instance_tag}", self.file_id)
    }

    /// Bytes: a file's content length; a folder's total of the files below it (ownCloud's `oc:size` and quota).
    pub(crate) fn size(&self) -> u64 {
        let length = |resource: &Resource| u64::try_from(resource.content.len()).unwrap_or(u64::MAX);
        if !self.is_collection() {
            return length(self);
        }
        HOME.iter().filter(|below| !below.is_collection() && below.path.starts_with(self.path)).map(length).sum()
    }

    /// The folder directly containing this resource, `""` for the top level; `None` for the home itself.
    fn parent(&self) -> Option<&'static str> {
        if self.path.is_empty() {
            return None;
        }
        let trimmed = self.path.trim_end_matches('/');
        Some(match trimmed.rfind('/') {
            Some(slash) => &self.path[..=slash],
            None => "",
        })
    }
}

/// The skeleton files a fresh ownCloud 10 account gets.
const HOME: [Resource; 6] = [
    Resource {
        path: "",
        file_id: 2,
        etag: "\"65537a6f3c8e2\"",
        last_modified: "Tue, 14 Nov 2023 10:21:03 GMT",
        content: b"",
        content_type: None,
    },
    Resource {
        path: "Documents/",
        file_id: 3,
        etag: "\"65537a6f2f4b1\"",
        last_modified: "Tue, 14 Nov 2023 10:21:03 GMT",
        content: b"",
        content_type: None,
    },
    Resource {
        path: "Documents/Example.odt",
        file_id: 4,
        etag: "\"d6f2c4e0b1a7c3f5e9d8b2a4c6e1f3a5\"",
        last_modified: "Tue, 14 Nov 2023 10:21:03 GMT",
        content: b"Homeport demo file: Documents/Example.odt\n",
        content_type: Some("application/vnd.oasis.opendocument.text"),
    },
    Resource {
        path: "Photos/",
        file_id: 5,
        etag: "\"65537a6f30d7a\"",
        last_modified: "Tue, 14 Nov 2023 10:21:03 GMT",
        content: b"",
        content_type: None,
    },
    Resource {
        path: "ownCloud Manual.pdf",
        file_id: 6,
        etag: "\"8c2e1a9f4b7d3e6a1c5f8b2d4e7a9c1f\"",
        last_modified: "Tue, 14 Nov 2023 10:21:03 GMT",
        content: b"Homeport demo file: ownCloud Manual.pdf\n",
        content_type: Some("application/pdf"),
    },
    Resource {
        path: "Photos/Paris.jpg",
        file_id: 7,
        etag: "\"1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d\"",
        last_modified: "Tue, 14 Nov 2023 10:21:03 GMT",
        content: b"Homeport demo file: Photos/Paris.jpg\n",
        content_type: Some("image/jpeg"),
    },
];

/// Free space reported for every home: 5 GiB.
const QUOTA_AVAILABLE_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// How deep a PROPFIND looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Depth {
    Zero,
    One,
    Infinity,
}

impl Depth {
    /// `Depth: 0`, `1` or `infinity`; a missing or unreadable header counts as 1, as ownCloud's clients expect.
    pub(crate) fn from_header(value: Option<&str>) -> Depth {
        match value.map(str::trim) {
            Some("0") => Depth::Zero,
            Some(infinity) if infinity.eq_ignore_ascii_case("infinity") => Depth::Infinity,
            _ => Depth::One,
        }
    }
}

/// The resource at a (percent-decoded) path relative to the home; `a` and `a/` both name folder `a/`.
pub(crate) fn find(relative: &str) -> Option<&'static Resource> {
    let relative = relative.trim_start_matches('/');
    HOME.iter().find(|resource| {
        resource.path == relative || (resource.is_collection() && resource.path.strip_suffix('/') == Some(relative))
    })
}

/// The `207 Multi-Status` body for `resource` and, by depth, what it contains.
///
/// `home_href` is the home's URL path as the client sees it (prefix included, percent-encoded, trailing slash);
/// `instance_tag` makes `oc:id` unique per instance, as ownCloud's instance id does.
pub(crate) fn multistatus(resource: &'static Resource, depth: Depth, home_href: &str, instance_tag: &str) -> String {
    let mut responses = vec![resource];
    if resource.is_collection() && depth != Depth::Zero {
        collect_children(resource, depth, &mut responses);
    }
    let mut body = String::from(
        "<?xml version=\"1.0\"?>\n<d:multistatus xmlns:d=\"DAV:\" xmlns:s=\"http://sabredav.org/ns\" \
         xmlns:oc=\"http://owncloud.org/ns\">\n",
    );
    for resource in responses {
        write_response(&mut body, resource, home_href, instance_tag);
    }
    body.push_str("</d:multistatus>\n");
    body
}

/// PHP's answer when the memory limit strikes while it prints an error to the page.
const PHP_FATAL_ERROR: &str = "\n<br />\n<b>Fatal error</b>:  Allowed memory size of 134217728 bytes exhausted \
    (tried to allocate 20480 bytes) in <b>/var/www/owncloud/lib/composer/sabre/xml/lib/Writer.php</b> on line \
    <b>135</b><br />\n";

/// Fault `malformed-xml`: `multistatus` as SabreDAV streams it when PHP dies mid-way. The document stops inside
/// the last `<oc:permissions>` start tag, no element is closed, and PHP's fatal error follows as HTML: not
/// well-formed XML by any parser's rules.
pub(crate) fn cut_short_by_a_fatal_error(multistatus: &str) -> String {
    let cut = multistatus.rfind("<oc:permissions>").map_or(multistatus.len() / 2, |at| at + "<oc:permiss".len());
    let mut body = multistatus.get(..cut).unwrap_or(multistatus).to_owned();
    body.push_str(PHP_FATAL_ERROR);
    body
}

fn collect_children(folder: &Resource, depth: Depth, out: &mut Vec<&'static Resource>) {
    for child in HOME.iter().filter(|child| child.parent() == Some(folder.path)) {
        out.push(child);
        if depth == Depth::Infinity && child.is_collection() {
            collect_children(child, depth, out);
        }
    }
}

fn write_response(body: &mut String, resource: &Resource, home_href: &str, instance_tag: &str) {
    let href = format!("{home_href}{}", encode_path(resource.path));
    let oc_id = resource.oc_id(instance_tag);
    let size = resource.size();
    // Writing into a String cannot fail; the results are ignored for that reason.
    let _ = write!(body, " <d:response>\n  <d:href>{}</d:href>\n  <d:propstat>\n   <d:prop>\n", xml_escape(&href));
    let _ = writeln!(body, "    <d:getlastmodified>{}</d:getlastmodified>", resource.last_modified);
    let _ = writeln!(body, "    <d:getetag>{}</d:getetag>", xml_escape(resource.etag));
    let _ = writeln!(body, "    <oc:id>{oc_id}</oc:id>");
    let _ = writeln!(body, "    <oc:fileid>{}</oc:fileid>", resource.file_id);
    let _ = writeln!(body, "    <oc:size>{size}</oc:size>");
    if resource.is_collection() {
        body.push_str("    <d:resourcetype><d:collection/></d:resourcetype>\n");
        body.push_str("    <oc:permissions>RDNVCK</oc:permissions>\n");
        let _ = writeln!(body, "    <d:quota-used-bytes>{size}</d:quota-used-bytes>");
        let _ = writeln!(body, "    <d:quota-available-bytes>{QUOTA_AVAILABLE_BYTES}</d:quota-available-bytes>");
    } else {
        body.push_str("    <d:resourcetype/>\n");
        body.push_str("    <oc:permissions>RDNVW</oc:permissions>\n");
        let _ = writeln!(body, "    <d:getcontentlength>{size}</d:getcontentlength>");
        let _ = writeln!(body, "    <d:getcontenttype>{}</d:getcontenttype>", resource.content_type());
    }
    body.push_str("   </d:prop>\n   <d:status>HTTP/1.1 200 OK</d:status>\n  </d:propstat>\n </d:response>\n");
}

/// Percent-encodes a path the way SabreDAV does: unreserved characters, `/`, `:`, `@`, `(` and `)` stay.
pub(crate) fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~/:@()".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// Decodes `%XX` escapes; `None` for a broken escape or a result that is not UTF-8.
pub(crate) fn decode_path(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = path.get(index + 1..index + 3)?;
            // from_str_radix alone would accept a sign ("%+1").
            if !hex.bytes().all(|digit| digit.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_header() {
        assert_eq!(Depth::from_header(Some("0")), Depth::Zero, "Depth: 0");
        assert_eq!(Depth::from_header(Some("1")), Depth::One, "Depth: 1");
        assert_eq!(Depth::from_header(Some("Infinity")), Depth::Infinity, "case-insensitive infinity");
        assert_eq!(Depth::from_header(None), Depth::One, "missing counts as 1");
        assert_eq!(Depth::from_header(Some("7")), Depth::One, "nonsense counts as 1");
    }

    #[test]
    fn the_home_tree() {
        let home = find("").expect("the home exists");
        assert!(home.is_collection(), "the home is a folder");
        assert!(find("Documents").is_some(), "a folder is found without its slash");
        assert!(find("/Documents/").is_some(), "and with it");
        assert!(find("ownCloud Manual.pdf").is_some(), "the manual is there");
        assert!(find("nope").is_none(), "unknown paths are not");

        let depth_one = multistatus(home, Depth::One, "/remote.php/webdav/", "ocabc");
        assert!(depth_one.contains("<d:href>/remote.php/webdav/</d:href>"), "the folder itself");
        assert!(depth_one.contains("<d:href>/remote.php/webdav/Documents/</d:href>"), "a child folder");
        assert!(
            depth_one.contains("<d:href>/remote.php/webdav/ownCloud%20Manual.pdf</d:href>"),
            "hrefs are percent-encoded"
        );
        assert!(!depth_one.contains("Example.odt"), "depth 1 stops at the children");
        assert!(depth_one.contains("<oc:id>00000002ocabc</oc:id>"), "oc:id = padded file id + instance id");

        let depth_zero = multistatus(home, Depth::Zero, "/remote.php/webdav/", "ocabc");
        assert_eq!(depth_zero.matches("<d:response>").count(), 1, "depth 0 is the folder alone");
        let infinite = multistatus(home, Depth::Infinity, "/remote.php/webdav/", "ocabc");
        assert!(infinite.contains("Example.odt"), "infinity descends into folders");
    }

    #[test]
    fn paths_round_trip() {
        let encoded = encode_path("Photos/a b&c@d.png");
        assert_eq!(encoded, "Photos/a%20b%26c@d.png", "Sabre keeps @ and / but escapes space and &");
        assert_eq!(decode_path(&encoded).as_deref(), Some("Photos/a b&c@d.png"), "decoding undoes it");
        assert_eq!(decode_path("bad%4"), None, "a cut escape is rejected, not panicked on");
        assert_eq!(decode_path("%FF"), None, "non-UTF-8 is rejected");
        assert_eq!(decode_path("%+1"), None, "a sign is not a hex digit");
        assert_eq!(decode_path("%e2%82%ac"), Some("€".to_owned()), "lowercase hex and multibyte UTF-8");
    }
}
