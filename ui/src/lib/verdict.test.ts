// The autopilot's verdict and failures are worded from the scenario crate's typed verdict: in
// English exactly as `homeport run` prints them (the strings below are the ones the scenario
// crate's unit tests hold its Display to), in German from the catalogue.
import { afterEach, describe, expect, it } from "vitest";
import type { ErrorReport, Failure, Verdict } from "./bindings";
import { language } from "./i18n.svelte";
import { failureWords, verdictLine } from "./verdict";

afterEach(() => {
  language.locale = "en";
});

const refused: ErrorReport = {
  code: "unreachable",
  message: "could not reach http://127.0.0.1:9/: Connection refused (os error 111)",
  detail: { url: "http://127.0.0.1:9/" },
};

function verdict(failures: Failure[], ended: Verdict["ended"]): Verdict {
  return { name: "S0", passed: failures.length === 0, ended, round_trips: 2, duration_ms: 35, failures };
}

describe("the autopilot's verdict", () => {
  it("reads as homeport run's line in English and from the catalogue in German", () => {
    const connected = verdict([], { status: "connected", user_id: "alice", instance_url: "http://127.0.0.1:2/" });
    expect(verdictLine(connected)).toBe("✓ S0 — connected as alice at http://127.0.0.1:2/; 2 round trips, 35 ms");
    language.locale = "de";
    expect(verdictLine(connected)).toBe("✓ S0 — verbunden als alice bei http://127.0.0.1:2/; 2 Runden, 35 ms");
    const one = { ...connected, round_trips: 1, duration_ms: 1234 };
    expect(verdictLine(one), "one round trip, a German number").toBe(
      "✓ S0 — verbunden als alice bei http://127.0.0.1:2/; 1 Runde, 1.234 ms",
    );
  });

  it("names how a failed connection ended by the error's words and keeps its code", () => {
    const failed = verdict([{ kind: "expected_to_connect", error: refused }], { status: "failed", error: refused });
    language.locale = "de";
    const line = verdictLine(failed);
    expect(line.startsWith("✗ S0 — fehlgeschlagen: "), line).toBe(true);
    expect(line, "the code stays a protocol word").toContain("(unreachable); 2 Runden, 35 ms");
    expect(line, "the error in German, not the engine's English").not.toContain("could not reach");
    expect(line, "the error's sentence inside the line, without its full stop").not.toContain(". (unreachable)");
    const words = failureWords(failed.failures[0]);
    expect(words.startsWith("Verbindung erwartet, fehlgeschlagen mit unreachable: "), words).toBe(true);
  });
});

describe("each unmet expectation", () => {
  const rows: [Failure, string, string][] = [
    [
      { kind: "expected_to_fail", user_id: "alice", instance_url: "http://127.0.0.1:2/" },
      "expected to fail, connected as alice at http://127.0.0.1:2/",
      "Fehlschlag erwartet, verbunden als alice bei http://127.0.0.1:2/",
    ],
    [
      { kind: "error_message", expected: "password", message: "no" },
      'expected the message to say "password", it says "no"',
      "erwartet, dass die Meldung „password“ enthält; sie lautet „no“",
    ],
    [
      { kind: "instance", expected: "http://a/", reached: "http://b/" },
      "expected instance http://a/, reached http://b/",
      "Instanz http://a/ erwartet, erreicht wurde http://b/",
    ],
    [{ kind: "user", expected: "a", got: "b" }, "expected user a, got b", "Benutzer a erwartet, erhalten b"],
    [
      { kind: "account_kind", expected: "matrix", got: "owncloud" },
      'expected kind matrix, got "owncloud"',
      "Kontoart matrix erwartet, erhalten „owncloud“",
    ],
    [
      { kind: "display_name", expected: "Robert", got: "Bob" },
      'expected display name "Robert", got "Bob"',
      "Anzeigename „Robert“ erwartet, erhalten „Bob“",
    ],
    [
      { kind: "round_trips", max: 2, took: 3 },
      "took 3 round trips, at most 2 expected",
      "3 Runden gebraucht, höchstens 2 erwartet",
    ],
    [
      { kind: "duration", max_ms: 10, took_ms: 12 },
      "took 12 ms, at most 10 ms expected",
      "12 ms gebraucht, höchstens 10 ms erwartet",
    ],
    [
      {
        kind: "credentials",
        origin: "http://127.0.0.1:2",
        seq: 2,
        method: "PROPFIND",
        url: "http://127.0.0.1:2/remote.php/webdav/",
        carried: { kind: "authorization", scheme: "Basic" },
      },
      "expected no credentials to http://127.0.0.1:2, request #2 PROPFIND http://127.0.0.1:2/remote.php/webdav/ carried Basic credentials (Authorization)",
      "keine Zugangsdaten an http://127.0.0.1:2 erwartet, Anfrage Nr. 2 PROPFIND http://127.0.0.1:2/remote.php/webdav/ enthielt Basic-Zugangsdaten (Authorization)",
    ],
    [
      {
        kind: "credentials",
        origin: "http://127.0.0.1:2",
        seq: 3,
        method: "POST",
        url: "http://127.0.0.1:2/login",
        carried: { kind: "secret_in_body" },
      },
      "expected no credentials to http://127.0.0.1:2, request #3 POST http://127.0.0.1:2/login carried a password or token in the body",
      "keine Zugangsdaten an http://127.0.0.1:2 erwartet, Anfrage Nr. 3 POST http://127.0.0.1:2/login enthielt ein Passwort oder Token im Inhalt",
    ],
    [
      {
        kind: "request_count",
        origin: "http://127.0.0.1:1",
        expected: 2,
        sent: [
          { method: "GET", url: "http://127.0.0.1:1/status.php" },
          { method: "GET", url: "http://127.0.0.1:1/other" },
          { method: "GET", url: "http://127.0.0.1:1/third" },
        ],
      },
      "expected 2 requests to http://127.0.0.1:1, 3 went there: GET http://127.0.0.1:1/status.php, GET http://127.0.0.1:1/other, GET http://127.0.0.1:1/third",
      "2 Anfragen an http://127.0.0.1:1 erwartet, gesendet wurden 3: GET http://127.0.0.1:1/status.php, GET http://127.0.0.1:1/other, GET http://127.0.0.1:1/third",
    ],
  ];

  it.each(rows)("%j reads as homeport run's words in English and in German from the catalogue", (failure, en, de) => {
    expect(failureWords(failure)).toBe(en);
    language.locale = "de";
    expect(failureWords(failure)).toBe(de);
  });

  it("counts an expected request by the language's plural rules (English grammar where homeport run says '1 requests')", () => {
    const none: Failure = { kind: "request_count", origin: "http://127.0.0.1:9", expected: 1, sent: [] };
    expect(failureWords(none)).toBe("expected 1 request to http://127.0.0.1:9, 0 went there");
    language.locale = "de";
    expect(failureWords(none)).toBe("1 Anfrage an http://127.0.0.1:9 erwartet, gesendet wurden 0");
  });
});
