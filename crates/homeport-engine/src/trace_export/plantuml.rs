//! A PlantUML sequence diagram of a trace: the one renderer, for `--trace x.puml` and the desktop
//! app's "Copy as text".

use std::fmt::Write as _;

use super::{lane, lanes_used, request_label, response_label, rounds};
use crate::trace::Exchange;

/// PlantUML in the UI's export style (`participant "Lookup server" as Lookup`, `== round N ==`,
/// `->` / `-->`), with concurrent requests grouped by `par … else … end` and failures as `-->x`.
pub fn to_plantuml(exchanges: &[Exchange]) -> String {
    let mut out = String::from("@startuml\n");
    for (_, alias, label) in lanes_used(exchanges) {
        let _ = writeln!(out, "participant \"{label}\" as {alias}");
    }
    for round in rounds(exchanges) {
        let number = round.first().map(|e| e.round).unwrap_or_default();
        let _ = writeln!(out, "== round {number} ==");
        let indent = if round.len() > 1 { "  " } else { "" };
        for (index, exchange) in round.iter().enumerate() {
            if round.len() > 1 {
                out.push_str(if index == 0 { "par\n" } else { "else\n" });
            }
            let (from, to) = (lane(exchange.from).1, lane(exchange.to).1);
            let _ = writeln!(out, "{indent}{from} -> {to}: {}", plantuml_text(&request_label(exchange)));
            let arrow = if exchange.status.is_some() { "-->" } else { "-->x" };
            let _ = writeln!(out, "{indent}{to} {arrow} {from}: {}", plantuml_text(&response_label(exchange)));
        }
        if round.len() > 1 {
            out.push_str("end\n");
        }
    }
    out.push_str("@enduml\n");
    out
}

/// PlantUML reads a literal `\n` in a message as a line break; a line break would end the message.
fn plantuml_text(text: &str) -> String {
    text.replace(['\r', '\n'], " ").replace("\\n", "\\\\n")
}
