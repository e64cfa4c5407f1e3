//! A PlantUML sequence diagram of a trace: the one renderer, for `--trace x.puml` (the exchanges)
//! and the desktop app's "Copy as text" (the events it drew: the wizard's steps as notes too).

use std::fmt::Write as _;

use super::{lane, lanes_used, request_label, response_label, rounds};
use crate::redact::redact_text;
use crate::trace::{Exchange, StepName, WizardEvent};

/// PlantUML in the UI's export style (`participant "Lookup server" as Lookup`, `== round N ==`,
/// `->` / `-->`), with concurrent requests grouped by `par … else … end` and failures as `-->x`.
pub fn to_plantuml(exchanges: &[Exchange]) -> String {
    let rows: Vec<Row<'_>> = exchanges.iter().map(Row::Exchange).collect();
    render(&rows)
}

/// The same diagram from what the wizard streamed: each step a `note over Client` where it
/// started, the exchanges between two steps drawn as [`to_plantuml`] draws them.
pub fn to_plantuml_events(events: &[WizardEvent]) -> String {
    let rows: Vec<Row<'_>> = events
        .iter()
        .map(|event| match event {
            WizardEvent::Step { step, detail, .. } => Row::Step(*step, detail),
            WizardEvent::Exchange(exchange) => Row::Exchange(exchange),
        })
        .collect();
    render(&rows)
}

enum Row<'a> {
    Step(StepName, &'a str),
    Exchange(&'a Exchange),
}

fn render(rows: &[Row<'_>]) -> String {
    let exchanges: Vec<Exchange> = rows
        .iter()
        .filter_map(|row| match row {
            Row::Exchange(exchange) => Some((*exchange).clone()),
            Row::Step(..) => None,
        })
        .collect();
    let mut out = String::from("@startuml\n");
    for (_, alias, label) in lanes_used(&exchanges) {
        let _ = writeln!(out, "participant \"{label}\" as {alias}");
    }
    // The exchanges since the last step: a step ends them (its note goes below them).
    let mut pending: Vec<Exchange> = Vec::new();
    let mut last_round = None;
    for row in rows {
        match row {
            Row::Exchange(exchange) => pending.push((*exchange).clone()),
            Row::Step(step, detail) => {
                draw_exchanges(&mut out, &std::mem::take(&mut pending), &mut last_round);
                let _ = writeln!(out, "note over Client: {}: {}", step.title(), plantuml_text(&redact_text(detail)));
            }
        }
    }
    draw_exchanges(&mut out, &pending, &mut last_round);
    out.push_str("@enduml\n");
    out
}

/// Each round under its divider, unless a step's note interrupted the round drawn last.
fn draw_exchanges(out: &mut String, exchanges: &[Exchange], last_round: &mut Option<u32>) {
    for round in rounds(exchanges) {
        let number = round.first().map(|e| e.round).unwrap_or_default();
        if *last_round != Some(number) {
            let _ = writeln!(out, "== round {number} ==");
        }
        *last_round = Some(number);
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
}

/// PlantUML reads a literal `\n` in a message as a line break; a line break would end the message.
fn plantuml_text(text: &str) -> String {
    text.replace(['\r', '\n'], " ").replace("\\n", "\\\\n")
}
