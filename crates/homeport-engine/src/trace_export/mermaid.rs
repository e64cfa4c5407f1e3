//! A Mermaid `sequenceDiagram` of a trace.

use std::fmt::Write as _;

use super::{lane, lanes_used, request_label, response_label, rounds, span};
use crate::trace::Exchange;

/// A Mermaid `sequenceDiagram`: a `->>` per request, a `-->>` per answer (`--x` when none came),
/// requests sent together in one round grouped by `par … and … end`, a note per round.
pub fn to_mermaid(exchanges: &[Exchange]) -> String {
    let mut out = String::from("sequenceDiagram\n");
    for (_, alias, label) in lanes_used(exchanges) {
        if alias == label {
            let _ = writeln!(out, "    participant {alias}");
        } else {
            let _ = writeln!(out, "    participant {alias} as {label}");
        }
    }
    let span = span(exchanges);
    for round in rounds(exchanges) {
        let number = round.first().map(|e| e.round).unwrap_or_default();
        let _ = writeln!(out, "    Note over {span}: round {number}");
        let indent = if round.len() > 1 { "        " } else { "    " };
        for (index, exchange) in round.iter().enumerate() {
            if round.len() > 1 {
                out.push_str(if index == 0 { "    par\n" } else { "    and\n" });
            }
            let (from, to) = (lane(exchange.from).1, lane(exchange.to).1);
            let _ = writeln!(out, "{indent}{from}->>{to}: {}", mermaid_text(&request_label(exchange)));
            let arrow = if exchange.status.is_some() { "-->>" } else { "--x" };
            let _ = writeln!(out, "{indent}{to}{arrow}{from}: {}", mermaid_text(&response_label(exchange)));
        }
        if round.len() > 1 {
            out.push_str("    end\n");
        }
    }
    out
}

/// Mermaid reads `;` as the end of a statement and `#…;` as an entity: both become entities.
fn mermaid_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}
