//! "Save…" beside "Copy as text": the trace as a file — PlantUML, Mermaid or HAR, by the engine's
//! renderers (`homeport_engine::trace_export`, the ones `homeport connect --trace` uses) — written
//! where the person picks in the native save dialog (tauri-plugin-dialog: GTK's on Linux). The
//! window gets no file-system or dialog permission: this command opens the dialog and writes.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use homeport_engine::trace_export::{render, to_plantuml_events, TraceFormat, TraceMeta};
use homeport_engine::{ErrorCode, ErrorReport, WizardEvent};
use serde::Deserialize;

use crate::ipc::error;

/// The formats "Save…" offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum TraceFileFormat {
    Plantuml,
    Mermaid,
    Har,
}

impl TraceFileFormat {
    /// The file name the dialog proposes.
    pub fn file_name(self) -> &'static str {
        match self {
            TraceFileFormat::Plantuml => "homeport-trace.puml",
            TraceFileFormat::Mermaid => "homeport-trace.mmd",
            TraceFileFormat::Har => "homeport-trace.har",
        }
    }

    /// The dialog's filter: its name and extensions.
    pub fn filter(self) -> (&'static str, &'static [&'static str]) {
        match self {
            TraceFileFormat::Plantuml => ("PlantUML", &["puml", "plantuml"]),
            TraceFileFormat::Mermaid => ("Mermaid", &["mmd", "mermaid"]),
            TraceFileFormat::Har => ("HAR", &["har", "json"]),
        }
    }
}

/// The file's text: the events the window drew, rendered (and redacted again) by the engine.
pub fn text(events: &[WizardEvent], format: TraceFileFormat) -> String {
    let exchanges: Vec<_> = events
        .iter()
        .filter_map(|event| match event {
            WizardEvent::Exchange(exchange) => Some(exchange.clone()),
            WizardEvent::Step { .. } => None,
        })
        .collect();
    // The exchanges' times count from the wizard's start: about as long ago as the last one ended.
    let elapsed = exchanges.iter().map(|e| e.started_ms + e.duration_ms).fold(0.0, f64::max);
    let started = SystemTime::now().checked_sub(Duration::from_secs_f64(elapsed.max(0.0) / 1000.0));
    let meta = TraceMeta {
        address: "Homeport",
        started: started.unwrap_or_else(SystemTime::now),
        creator_version: env!("CARGO_PKG_VERSION"),
    };
    match format {
        // The steps too, as Copy as text has them.
        TraceFileFormat::Plantuml => to_plantuml_events(events),
        TraceFileFormat::Mermaid => render(TraceFormat::Mermaid, &exchanges, &meta),
        TraceFileFormat::Har => render(TraceFormat::Har, &exchanges, &meta),
    }
}

/// Writes `text` to `path` (the dialog asked about replacing a file there).
pub fn write(path: &Path, text: &str) -> Result<PathBuf, ErrorReport> {
    std::fs::write(path, text).map_err(|e| {
        error(ErrorCode::Internal, format!("The trace could not be written to {}: {e}", path.display()))
    })?;
    Ok(path.to_owned())
}

#[cfg(test)]
mod tests {
    use homeport_engine::{Exchange, Participant, StepAbout, StepName};

    use super::*;

    fn events() -> Vec<WizardEvent> {
        vec![
            WizardEvent::Step {
                step: StepName::Probe,
                detail: "checking".into(),
                about: StepAbout::Checking { server: "http://127.0.0.1:1/".into() },
            },
            WizardEvent::Exchange(Exchange {
                seq: 1,
                round: 1,
                from: Participant::Client,
                to: Participant::Lookup,
                method: "PROPFIND".into(),
                url: "http://127.0.0.1:1/remote.php/webdav/".into(),
                status: Some(207),
                error: None,
                error_kind: None,
                started_ms: 1.0,
                duration_ms: 2.0,
                request_headers: vec![("authorization".into(), "Basic dGVzdDpzZWNyZXQ=".into())],
                response_headers: Vec::new(),
                credentials: true,
            }),
        ]
    }

    #[test]
    fn each_format_is_the_engines_rendering_redacted_again() {
        let plantuml = text(&events(), TraceFileFormat::Plantuml);
        assert!(plantuml.starts_with("@startuml") && plantuml.contains("PROPFIND"), "{plantuml}");
        let mermaid = text(&events(), TraceFileFormat::Mermaid);
        assert!(mermaid.starts_with("sequenceDiagram") && mermaid.contains("207"), "{mermaid}");
        let har: serde_json::Value = serde_json::from_str(&text(&events(), TraceFileFormat::Har)).expect("HAR is JSON");
        assert_eq!(har["log"]["entries"].as_array().map(Vec::len), Some(1), "one entry per exchange: {har}");
        for format in [TraceFileFormat::Plantuml, TraceFileFormat::Mermaid, TraceFileFormat::Har] {
            assert!(
                !text(&events(), format).contains("dGVzdDpzZWNyZXQ="),
                "{format:?}: the webview's copy is redacted"
            );
            let (_, extensions) = format.filter();
            assert!(format.file_name().ends_with(extensions[0]), "{format:?}: the proposed name fits the filter");
        }
    }
}
