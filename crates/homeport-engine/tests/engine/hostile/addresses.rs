//! Hostile addresses: malformed, huge and deceptive input (the corpus and its rules: `mod.rs`).

use super::*;

type AddressCheck = fn(&Result<Address, AddressError>) -> bool;

fn server_is(parsed: &Result<Address, AddressError>, expected: &str) -> bool {
    matches!(parsed, Ok(Address::Server { server, .. }) if server.as_url().as_str() == expected)
}

#[test]
fn malformed_and_huge_addresses_are_typed_errors_or_normalised_servers() {
    let long_host = "a".repeat(10 * 1024);
    let long_path = format!("cloud.example.com/{}", "a/".repeat(5 * 1024));
    let long_query = format!("cloud.example.com/?q={}", "x".repeat(10 * 1024));
    let rows: Vec<(&str, String, AddressCheck)> = vec![
        ("empty", String::new(), |r| *r == Err(AddressError::Empty)),
        ("only whitespace", " \t\r\n ".into(), |r| *r == Err(AddressError::Empty)),
        ("a space inside", "cloud example.com".into(), |r| *r == Err(AddressError::InvalidCharacter(' '))),
        ("a NUL byte", "cloud.example.com\0".into(), |r| *r == Err(AddressError::InvalidCharacter('\0'))),
        ("a newline inside", "cloud.exa\nmple.com".into(), |r| *r == Err(AddressError::InvalidCharacter('\n'))),
        ("DEL", "cloud.example.com\u{7f}".into(), |r| *r == Err(AddressError::InvalidCharacter('\u{7f}'))),
        ("an ANSI escape", "cloud\u{1b}[31m.example.com".into(), |r| {
            *r == Err(AddressError::InvalidCharacter('\u{1b}'))
        }),
        ("a C1 control (NEL)", "cloud.exa\u{85}mple.com".into(), |r| {
            *r == Err(AddressError::InvalidCharacter('\u{85}'))
        }),
        ("a right-to-left override", "\u{202e}moc.elpmaxe".into(), |r| matches!(r, Err(AddressError::InvalidHost(_)))),
        ("a 10 KB host", long_host, |r| matches!(r, Err(AddressError::InvalidHost(_)))),
        (
            "a 10 KB path",
            long_path,
            |r| matches!(r, Ok(Address::Server { server, .. }) if server.as_url().path().len() > 10_000),
        ),
        ("a 10 KB query", long_query, |r| server_is(r, "https://cloud.example.com/")),
        ("port 0", "cloud.example.com:0".into(), |r| *r == Err(AddressError::InvalidPort)),
        ("port 65536", "cloud.example.com:65536".into(), |r| *r == Err(AddressError::InvalidPort)),
        ("a negative port", "cloud.example.com:-1".into(), |r| *r == Err(AddressError::InvalidPort)),
        ("a port with letters", "cloud.example.com:8o8o".into(), |r| *r == Err(AddressError::InvalidPort)),
        ("a 20-digit port", "https://cloud.example.com:99999999999999999999/".into(), |r| {
            *r == Err(AddressError::InvalidPort)
        }),
        ("IPv6 loopback with a port", "[::1]:8080".into(), |r| server_is(r, "https://[::1]:8080/")),
        ("IPv6 with a pasted status.php", "http://[::1]:8080/owncloud/status.php".into(), |r| {
            server_is(r, "http://[::1]:8080/owncloud/")
        }),
        ("an unclosed IPv6 bracket", "[::1".into(), |r| r.is_err()),
        ("an IPv6 zone id", "http://[fe80::1%25eth0]/".into(), |r| r.is_err()),
        ("a bare IPv6 address without brackets", "::1".into(), |r| r.is_err()),
        ("an IDN host in capitals", "https://Bücher.Example/".into(), |r| {
            server_is(r, "https://xn--bcher-kva.example/")
        }),
        ("fullwidth letters", "ｃｌｏｕｄ.example.com".into(), |r| server_is(r, "https://cloud.example.com/")),
        (
            "an IDN account domain",
            "alice@bücher.example".into(),
            |r| matches!(r, Ok(Address::Account { domain, .. }) if domain == "xn--bcher-kva.example"),
        ),
        ("broken punycode", "xn--a.example".into(), |r| matches!(r, Err(AddressError::InvalidHost(_)))),
        ("javascript: without slashes", "javascript:alert(1)".into(), |r| r.is_err()),
        ("javascript:// with a host", "javascript://cloud.example.com/%0Aalert(1)".into(), |r| {
            *r == Err(AddressError::UnsupportedScheme("javascript".into()))
        }),
        ("file://", "file:///etc/passwd".into(), |r| *r == Err(AddressError::UnsupportedScheme("file".into()))),
        ("a data: URL", "data:text/html,<script>alert(1)</script>".into(), |r| r.is_err()),
        ("wss://", "wss://cloud.example.com".into(), |r| *r == Err(AddressError::UnsupportedScheme("wss".into()))),
        ("user and password in the URL", "https://alice:hunter2@cloud.example.com/".into(), |r| {
            matches!(r, Ok(Address::Server { server, login_hint: Some(hint) })
                if hint == "alice" && server.as_url().as_str() == "https://cloud.example.com/")
        }),
        ("only a password in the URL", "https://:hunter2@cloud.example.com/".into(), |r| {
            matches!(r, Ok(Address::Server { login_hint: None, .. })) && server_is(r, "https://cloud.example.com/")
        }),
        (
            "an encoded @ in the user name",
            "https://alice%40corp:hunter2@cloud.example.com/".into(),
            |r| matches!(r, Ok(Address::Server { login_hint: Some(hint), .. }) if hint == "alice@corp"),
        ),
        (
            "loopback as userinfo before the real host",
            "http://127.0.0.1:8080@evil.example/".into(),
            |r| matches!(r, Ok(Address::Server { server, .. }) if server.as_url().as_str() == "http://evil.example/" && !server.is_loopback()),
        ),
        ("loopback hidden in a fragment", "cloud.example.com#@127.0.0.1".into(), |r| {
            server_is(r, "https://cloud.example.com/")
        }),
        ("a Matrix ID with a path", "@alice:example.org/evil".into(), |r| {
            matches!(r, Err(AddressError::InvalidAccount(_)))
        }),
        ("a Matrix ID without a domain", "@alice:".into(), |r| matches!(r, Err(AddressError::InvalidAccount(_)))),
        ("a Matrix ID without a user", "@:example.org".into(), |r| matches!(r, Err(AddressError::InvalidAccount(_)))),
        ("an account without a domain", "alice@".into(), |r| matches!(r, Err(AddressError::InvalidAccount(_)))),
        ("a scheme in capitals", "HTTPS://CLOUD.EXAMPLE.COM".into(), |r| server_is(r, "https://cloud.example.com/")),
    ];
    let mut failed = Vec::new();
    for (case, input, expected) in &rows {
        let parsed = Address::parse(input);
        if !expected(&parsed) {
            failed.push(format!("address {case}: {input:.80?} gave {parsed:.300?}"));
            continue;
        }
        let debug = format!("{parsed:?}");
        assert!(!debug.contains("hunter2"), "address {case}: a typed password is kept nowhere: {debug}");
        let from_wizard = Wizard::new(input, WizardOptions::default());
        assert_eq!(from_wizard.is_ok(), parsed.is_ok(), "address {case}: the wizard accepts what the parser accepts");
        if let Err(error) = from_wizard {
            assert_eq!(error.code(), homeport_engine::ErrorCode::BadInput, "address {case}: bad input, typed");
        }
    }
    assert!(failed.is_empty(), "{} address row(s) failed:\n{}", failed.len(), failed.join("\n"));
    assert!(rows.len() >= 40, "the address corpus keeps its size");
}

#[tokio::test]
async fn addresses_that_look_local_but_are_not_ask_before_any_request() {
    for (case, input) in [
        ("loopback as userinfo", "http://127.0.0.1:8080@evil.example/"),
        ("localhost as a subdomain", "http://localhost.evil.example/"),
        ("an IPv4-mapped IPv6 loopback", "http://[::ffff:127.0.0.1]/"),
    ] {
        let mut wizard = wizard(case, input, loopback_options(), Some(HOSTILE_PASSWORD));
        let (outcome, _) = step(case, &mut wizard).await;
        check(case, &outcome, matches!(outcome, Outcome::Asked(Decision::ConfirmPlainHttp { .. })));
        assert!(wizard.trace().exchanges().is_empty(), "{case}: nothing was sent before the person decided");
    }
}

#[tokio::test]
async fn a_10_kb_host_name_under_localhost_reaches_a_bounded_typed_end() {
    // 160 labels of 63 letters: a name that resolves (RFC 6761) to the scripted server.
    let server = Scripted::start(|_| not_found()).await;
    let host: Vec<String> = (0..160).map(|i| format!("{i:03}{}", "a".repeat(60))).collect();
    let address = format!("http://{}.localhost:{}/", host.join("."), server.port);
    let case = "a 10 KB host under .localhost";
    match Wizard::new(&address, loopback_options()) {
        Err(error) => assert!(matches!(error, ConnectError::Address(_)), "{case}: typed: {error:?}"),
        Ok(mut wizard) => {
            let (outcome, elapsed) = step(case, &mut wizard).await;
            check(case, &outcome, matches!(outcome, Outcome::Failed(_)));
            assert!(elapsed < BOUNDED, "{case}: bounded ({elapsed:?})");
        }
    }
}
