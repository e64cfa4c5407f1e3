//! "Copy as text": the webview hands the events it drew back and gets the engine's PlantUML.

use serde_json::json;

use super::app;

#[test]
fn copy_as_text_is_the_engines_plantuml_of_the_events_the_webview_holds() {
    // The shapes the UI's eventOf builds from its diagram's items (bindings.ts WizardEvent).
    let events = json!([
        {
            "event": "step", "step": "authenticate", "detail": "logging in as test@instance2.com",
            "about": { "kind": "logging_in_as", "user": "test@instance2.com" }
        },
        {
            "event": "exchange", "seq": 1, "round": 1, "from": "client", "to": "lookup",
            "method": "PROPFIND", "url": "http://127.0.0.1:4000/remote.php/webdav/?code=CODE-1",
            "status": 301, "error": null, "started_ms": 10.0, "duration_ms": 12.4,
            "request_headers": [["Authorization", "Basic dGVzdDpzZWNyZXQ="]],
            "response_headers": [["Location", "http://127.0.0.1:4002/remote.php/webdav/"]]
        }
    ]);
    let text = app(false).invoke("trace_plantuml", json!({ "events": events.clone() })).expect("granted and rendered");
    let events: Vec<homeport_engine::WizardEvent> = serde_json::from_value(events).expect("the events deserialize");
    assert_eq!(text, json!(homeport_engine::trace_export::to_plantuml_events(&events)), "the engine's renderer");
    let text = text.as_str().expect("a string");
    assert!(text.contains("note over Client: Logging in: logging in as test@instance2.com\n"), "{text}");
    assert!(text.contains("Client -> Lookup: PROPFIND /remote.php/webdav/?code=[redacted]\n"), "{text}");
    assert!(text.contains("Lookup --> Client: 301 Moved Permanently → http://127.0.0.1:4002 (12 ms)\n"), "{text}");
}
