// The GUI autopilot's choices: what a person following the scenario file would do on the page
// shown now. The same answers as the headless runner (`homeport run`, the scenario crate's
// `drive`): approve only the origins the file names, log in once, choose the named instance,
// let the login robot (auto-login) or the system browser (browser = "system") log in (at a provider on another site only when
// the file approves its origin), go on as another user only when the file names them, decline
// everything else. Pure, so it is
// unit-tested; lib/player.svelte.ts types and presses.
import type { AutopilotScript, ErrorReport } from "./bindings";
import { isIssuerElsewhere, originOf } from "./flow";
import type { Page } from "./flow";
import { m } from "../paraglide/messages.js";

export type AutopilotAction =
  | { action: "log-in"; user: string; password: string }
  | { action: "use-browser-login" }
  | { action: "approve-redirect"; origin: string }
  | { action: "allow-plain-http" }
  | { action: "open-login-page" }
  | { action: "choose-instance"; url: string }
  | { action: "continue-as-logged-in-user" }
  /** A question the file does not answer: its refusal ends the run, as headless. */
  | { action: "decline" }
  /** The connection has ended (verified, or an error): time for the verdict. */
  | { action: "finish" };

/** What the autopilot has done already: each answer is given once, as headless. */
export type Played = { loggedIn: boolean; browserOpened: boolean; browserAsked: boolean; instanceChosen: boolean };

export const NOTHING_PLAYED: Played = { loggedIn: false, browserOpened: false, browserAsked: false, instanceChosen: false };

const sameUrl = (a: string, b: string) => a.replace(/\/+$/, "") === b.replace(/\/+$/, "");

/** Whether two URLs have one origin; an address that is no URL (`alice@host`) is never plain http. */
function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

export function nextAction(page: Page, script: AutopilotScript, error: ErrorReport | null, played: Played): AutopilotAction {
  if (error) return { action: "finish" };
  switch (page.name) {
    case "login": {
      const hasCredentials = script.user !== null && script.password !== null;
      if (script.auto_login && page.decision.browser_login && !played.browserAsked) return { action: "use-browser-login" };
      if (hasCredentials && !played.loggedIn) {
        return { action: "log-in", user: script.user ?? "", password: script.password ?? "" };
      }
      return { action: "decline" };
    }
    case "redirect": {
      const to = page.decision.to;
      return script.approve.some((origin) => sameUrl(origin, to))
        ? { action: "approve-redirect", origin: to }
        : { action: "decline" };
    }
    case "plain-http":
      // The typed server's origin only, as headless: another plain-http origin is declined.
      return script.allow_plain_http && sameOrigin(page.decision.url, script.address)
        ? { action: "allow-plain-http" }
        : { action: "decline" };
    case "browser": {
      const approved =
        !isIssuerElsewhere(page.decision) ||
        script.approve_issuer.some((origin) => sameUrl(originOf(origin), originOf(page.decision.issuer)));
      const browser = (script.auto_login && script.user !== null) || script.system_browser;
      return approved && browser && !played.browserOpened
        ? { action: "open-login-page" }
        : { action: "decline" };
    }
    case "confirm-user": {
      const wanted = script.continue_as?.trim().toLowerCase();
      return wanted !== undefined && wanted === page.decision.logged_in.toLowerCase()
        ? { action: "continue-as-logged-in-user" }
        : { action: "decline" };
    }
    case "choose-instance": {
      const wanted = script.instance;
      const found = wanted === null ? undefined : page.decision.instances.find((i) => sameUrl(i.url, wanted));
      return found && !played.instanceChosen ? { action: "choose-instance", url: found.url } : { action: "decline" };
    }
    case "trust":
      // A scenario's own lookup server is trusted up front; any other certificate is refused, as headless.
      return { action: "decline" };
    case "client-certificate":
      // A scenario's client_cert is presented up front to the server it names; another server that
      // asks is declined, as headless for a scenario without one.
      return { action: "decline" };
    default:
      // Verified, or back at the address (cancelled): the connection is over.
      return { action: "finish" };
  }
}

/** What the banner says about a verdict. */
export function verdictTitle(passed: boolean): string {
  return passed ? m.autopilot_met() : m.autopilot_not_met();
}
