// The autopilot's verdict in the window's language, from the scenario crate's typed verdict
// (crates/homeport-scenario/src/verdict.rs): in English the words `homeport run` prints, in every
// language from the catalogue (docs/translating.md). An error the play ended with is worded as the
// error banner words it (lib/explain.ts); its code stays as it is, a protocol word. The switches
// are exhaustive: a new kind of failure in the scenario crate is a type error here.
import type { Carried, Ended, ErrorReport, Failure, Verdict } from "./bindings";
import { whatHappened } from "./explain";
import { formatNumber } from "./i18n.svelte";
import { m } from "../paraglide/messages.js";

/** The error's sentence inside a line: without its full stop ("… war nicht erreichbar (unreachable)"). */
function said(error: ErrorReport): string {
  return whatHappened(error).replace(/\.$/, "");
}

/** `✓ name — connected as … at …; 2 round trips, 35 ms`: the verdict's first line. */
export function verdictLine(verdict: Verdict): string {
  const mark = verdict.passed ? "✓" : "✗";
  const took = m.trace_round_trips({ count: verdict.round_trips });
  const ms = formatNumber(verdict.duration_ms);
  return `${mark} ${endedWords(verdict.name, verdict.ended, took, ms)}`;
}

function endedWords(name: string, ended: Ended, took: string, ms: string): string {
  switch (ended.status) {
    case "connected":
      return m.autopilot_verdict_connected({ name, user: ended.user_id, instance: ended.instance_url, took, ms });
    case "failed":
      return m.autopilot_verdict_failed({ name, what: said(ended.error), code: ended.error.code, took, ms });
    default: {
      const unknown: never = ended;
      return String(unknown);
    }
  }
}

/** One unmet expectation, in words. */
export function failureWords(failure: Failure): string {
  switch (failure.kind) {
    case "expected_to_connect":
      return m.autopilot_failure_expected_to_connect({ code: failure.error.code, what: said(failure.error) });
    case "expected_to_fail":
      return m.autopilot_failure_expected_to_fail({ user: failure.user_id, instance: failure.instance_url });
    case "error_code":
      return m.autopilot_failure_error_code({
        expected: failure.expected,
        code: failure.error.code,
        what: said(failure.error),
      });
    case "error_message":
      // `message` is the engine's English: error_contains compares with it.
      return m.autopilot_failure_error_message({ expected: failure.expected, message: failure.message });
    case "instance":
      return m.autopilot_failure_instance({ expected: failure.expected, reached: failure.reached });
    case "user":
      return m.autopilot_failure_user({ expected: failure.expected, got: failure.got });
    case "account_kind":
      return m.autopilot_failure_account_kind({ expected: failure.expected, got: failure.got });
    case "display_name":
      return m.autopilot_failure_display_name({ expected: failure.expected, got: failure.got });
    case "round_trips":
      return m.autopilot_failure_round_trips({ took: m.trace_round_trips({ count: failure.took }), max: failure.max });
    case "duration":
      return m.autopilot_failure_duration({ took: formatNumber(failure.took_ms), max: formatNumber(failure.max_ms) });
    case "credentials":
      return m.autopilot_failure_credentials({
        origin: failure.origin,
        seq: failure.seq,
        method: failure.method,
        url: failure.url,
        carried: carriedWords(failure.carried),
      });
    case "request_count": {
      const counted = m.autopilot_failure_request_count({
        expected: failure.expected,
        origin: failure.origin,
        sent: failure.sent.length,
      });
      if (failure.sent.length === 0) return counted;
      const requests = failure.sent.map((request) => `${request.method} ${request.url}`).join(", ");
      return m.autopilot_failure_requests_listed({ failure: counted, requests });
    }
    default: {
      const unknown: never = failure;
      return String(unknown);
    }
  }
}

function carriedWords(carried: Carried): string {
  switch (carried.kind) {
    case "authorization":
      return carried.scheme
        ? m.autopilot_carried_authorization({ scheme: carried.scheme })
        : m.autopilot_carried_authorization_unnamed();
    case "cookie":
      return m.autopilot_carried_cookie();
    case "secret_in_url":
      return m.autopilot_carried_secret_in_url();
    case "secret_in_body":
      return m.autopilot_carried_secret_in_body();
    default: {
      const unknown: never = carried;
      return String(unknown);
    }
  }
}
