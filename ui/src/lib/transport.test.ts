// An exchange's failure is worded from the engine's typed kind; its raw text is the detail.
import { afterEach, describe, expect, it } from "vitest";
import type { Exchange, TransportErrorKind } from "./bindings";
import { responseLabel } from "./diagram";
import { language } from "./i18n.svelte";
import { failureOf, transportWords } from "./transport";

afterEach(() => {
  language.locale = "en";
});

const KINDS: TransportErrorKind[] = [
  "connection_refused",
  "timed_out",
  "name_not_resolved",
  "tls",
  "connection_reset",
  "proxy",
  "too_large",
  "other",
];

function failed(error_kind: TransportErrorKind | undefined): Exchange {
  return {
    seq: 1,
    round: 1,
    from: "client",
    to: "lookup",
    method: "GET",
    url: "http://127.0.0.1:9/status.php",
    status: null,
    error: "could not reach http://127.0.0.1:9/status.php: Connection refused (os error 111)",
    error_kind,
    started_ms: 0,
    duration_ms: 1,
    request_headers: [],
    response_headers: [],
    credentials: false,
  };
}

describe("a transport error", () => {
  it("has words of its own for every kind, in English and in German", () => {
    const english = KINDS.map(transportWords);
    language.locale = "de";
    const german = KINDS.map(transportWords);
    expect(new Set(english).size, "one sentence per kind").toBe(KINDS.length);
    expect(new Set(german).size).toBe(KINDS.length);
    KINDS.forEach((kind, i) => expect(german[i], `${kind} is German, not English`).not.toBe(english[i]));
    expect(transportWords("connection_refused")).toBe("Verbindung abgelehnt");
  });

  it("labels the diagram's row by its kind, not by the engine's raw English", () => {
    expect(responseLabel(failed("connection_refused"))).toBe("connection refused");
    language.locale = "de";
    expect(responseLabel(failed("connection_refused"))).toBe("Verbindung abgelehnt");
    expect(responseLabel(failed("timed_out"))).toBe("Zeitüberschreitung");
  });

  it("falls back to the raw text for a trace recorded before kinds existed", () => {
    language.locale = "de";
    const old = failed(undefined);
    expect(failureOf(old)).toBe(old.error);
    expect(failureOf({ ...old, error: null })).toBeNull();
  });
});
