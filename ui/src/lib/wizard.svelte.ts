// The wizard's state and the answers the pages give it, shared by every page (Svelte 5 runes in a
// module). The engine decides what comes next (lib/flow.ts maps its answer to a page); this keeps
// what the person typed, shows progress, and moves between pages with the keyboard focus.
import { tick } from "svelte";
import { Channel } from "@tauri-apps/api/core";
import { commands } from "./bindings";
import type {
  DemoInfo,
  DemoMatrixOAuthPerson,
  DemoMatrixPerson,
  DemoOidcPerson,
  DemoPerson,
  ErrorReport,
  WizardEvent,
  WizardOutcome, DemoNextcloudPerson } from "./bindings";
import { client, clientSetting } from "./client.svelte";
import { addEvent, stepTitle } from "./diagram";
import { stepDetail } from "./steps";
import type { TraceItem } from "./diagram";
import {
  certificatePath,
  addressProblem,
  CANCELLED_NOTICE,
  isMatrixLogin,
  messagesAfterError,
  pageAfterError,
  pageForOutcome,
} from "./flow";
import type { LoginDecision, Page, Words } from "./flow";
import { m } from "../paraglide/messages.js";

type Result<T> = { status: "ok"; data: T } | { status: "error"; error: ErrorReport };

class WizardState {
  page: Page = $state({ name: "address" });
  address = $state("");
  addressHint: Words | null = $state(null);
  username = $state("");
  password = $state("");
  showPassword = $state(false);
  /** The running demo (`--demo`, "Try the demo"); null when there is none. */
  demo: DemoInfo | null = $state(null);
  /** The ownCloud demo person picked last: the login page fills them in. */
  demoPerson: DemoPerson | null = $state(null);
  /** The OIDC demo person picked last: the browser page reminds what to type at the IdP. */
  demoOidcPerson: DemoOidcPerson | null = $state(null);
  /** The person of the OAuth-only Matrix homeserver picked last: the browser page names them. */
  demoMatrixOAuthPerson: DemoMatrixOAuthPerson | null = $state(null);
  demoNextcloudPerson: DemoNextcloudPerson | null = $state(null);
  /** The Matrix demo person picked last: the login page and the browser page show their password. */
  demoMatrixPerson: DemoMatrixPerson | null = $state(null);
  /** The identity provider of this connection (from the browser page), for the verified page. */
  issuer: string | null = $state(null);
  linkCopied = $state(false);
  /** What runs now, in words (null: nothing runs). */
  busy: Words | null = $state(null);
  /** What the running step is doing (a rate-limit wait, say), in the window's language (null: nothing said). */
  busyDetail: Words | null = $state(null);
  error: ErrorReport | null = $state(null);
  notice: Words | null = $state(null);
  /** What a screen reader announces when a new page opens: its heading (a polite live region). */
  announcement = $state("");
  items: TraceItem[] = $state([]);
  lastLogin: LoginDecision | null = $state(null);
  /** The `<main>` that holds the page: moving to a page focuses its first field or its title. */
  pageElement: HTMLElement | undefined = $state();
}

export const wizard = new WizardState();

/** The channel that carries the engine's trace and step events of one call into the trace view. */
export function events(): Channel<WizardEvent> {
  const channel = new Channel<WizardEvent>();
  channel.onmessage = (event) => {
    wizard.items = addEvent(wizard.items, event);
    if (event.event === "step") {
      const step = event.step;
      wizard.busy = () => m.busy_step({ step: stepTitle(step) });
      const about = event.about;
      wizard.busyDetail = () => stepDetail(about);
    }
  };
  return channel;
}

/**
 * Numbers the wizard calls, so that Cancel names the one it means (it may reach the app before
 * the call it cancels has started). A random start: ids from before a reload never collide.
 */
let nextCall = Math.floor(Math.random() * 2 ** 30);
let runningCall: number | null = null;

/** Runs one engine step with progress shown, then moves to the page its answer calls for. */
async function step(label: Words, call: (id: number) => Promise<Result<WizardOutcome>>) {
  wizard.error = null;
  wizard.notice = null;
  wizard.busy = label;
  wizard.busyDetail = null;
  const id = ++nextCall;
  runningCall = id;
  try {
    const result = await call(id);
    if (result.status === "ok") {
      show(pageForOutcome(result.data));
    } else {
      fail(result.error);
    }
  } catch (thrown) {
    fail({ code: "internal", message: String(thrown), detail: null });
  } finally {
    wizard.busy = null;
    wizard.busyDetail = null;
    runningCall = null;
  }
}

function fail(report: ErrorReport) {
  ({ notice: wizard.notice, error: wizard.error } = messagesAfterError(report));
  show(pageAfterError(wizard.page, report, wizard.lastLogin, wizard.address));
}

/** Moves to `next`, filling a new login form with the demo person (or the engine's hint). */
export function show(next: Page) {
  if (next.name === "login") {
    const sameForm = wizard.page.name === "login" || wizard.lastLogin !== null;
    wizard.lastLogin = next.decision;
    if (!sameForm || wizard.username === "") {
      if (isMatrixLogin(next.decision)) {
        wizard.username = wizard.demoMatrixPerson?.localpart ?? next.decision.login_hint ?? "";
        wizard.password = wizard.demoMatrixPerson?.password ?? "";
      } else {
        wizard.username = wizard.demoPerson?.login ?? next.decision.login_hint ?? "";
        wizard.password = wizard.demoPerson ? (wizard.demo?.password ?? "") : "";
      }
    }
  }
  if (next.name === "browser") {
    wizard.issuer = next.decision.issuer;
    wizard.linkCopied = false;
  }
  wizard.page = next;
  void focusPage();
}

export async function focusPage() {
  await tick();
  const root = wizard.pageElement;
  const target = root?.querySelector<HTMLElement>("[data-autofocus]") ?? root?.querySelector<HTMLElement>("h1");
  target?.focus();
  // Focus lands on the page's first control, whose own name says little about where the person is:
  // the live region says which page opened.
  const heading = root?.querySelector<HTMLElement>("h1")?.textContent?.trim() ?? "";
  if (heading) wizard.announcement = `${heading}.`;
}

export async function connect(event?: SubmitEvent) {
  event?.preventDefault();
  if (wizard.busy) return;
  const problem = addressProblem(wizard.address);
  wizard.addressHint = problem;
  if (problem) return;
  wizard.items = [];
  wizard.lastLogin = null;
  wizard.issuer = null;
  wizard.username = "";
  wizard.password = "";
  const typed = wizard.address.trim();
  const setting = clientSetting(client);
  await step(m.busy_checking, (id) => commands.wizardStart(typed, events(), id, setting));
}

export async function logIn(event?: SubmitEvent) {
  event?.preventDefault();
  if (wizard.busy) return;
  await step(m.busy_logging_in, (id) =>
    commands.wizardAnswer({ answer: "credentials", user: wizard.username, password: wizard.password }, id),
  );
  if (wizard.page.name === "login" && wizard.error?.code === "auth_failed") {
    await tick();
    document.getElementById("password")?.focus();
  }
}

/** "Log in in the browser (SSO)" on a Matrix login form: the engine answers with the browser page. */
export async function useBrowserLogin() {
  if (wizard.busy) return;
  await step(m.busy_browser_login, (id) =>
    commands.wizardAnswer({ answer: "use_browser_login" }, id),
  );
  if (wizard.page.name === "login") {
    // The server offers no login in the browser after all: the password form stays.
    wizard.notice = () => m.notice_no_browser_login();
  }
}

export async function approveRedirect(origin: string) {
  await step(m.busy_redirect, (id) => commands.wizardAnswer({ answer: "approve_redirect", origin }, id));
}

export async function allowPlainHttp() {
  await step(m.busy_checking, (id) => commands.wizardAnswer({ answer: "allow_plain_http" }, id));
}

export async function decline() {
  await step(m.busy_stopping, (id) => commands.wizardAnswer({ answer: "decline" }, id));
}

/** "Trust this certificate": exactly the one shown, for this account; the wizard connects again. */
export async function trustCertificate(sha256: string) {
  await step(m.busy_trusted, (id) =>
    commands.wizardAnswer({ answer: "trust_certificate", sha256 }, id),
  );
}

/**
 * "Use this certificate": the PKCS#12 file at `file` (a path on this computer) opened with its
 * password; the wizard connects again presenting it to the server that asked.
 */
export async function useClientCertificate(file: string, password: string) {
  await step(m.busy_client_certificate, (id) =>
    commands.wizardAnswer({ answer: "client_certificate", file: certificatePath(file), password }, id),
  );
}

export async function continueInBrowser() {
  const waiting = step(m.busy_waiting_browser, (id) =>
    commands.wizardAnswer({ answer: "continue_in_browser" }, id),
  );
  // "Open the login page" is disabled while Homeport waits: the keyboard goes to Cancel.
  await tick();
  document.getElementById("browser-cancel")?.focus();
  await waiting;
}

/** Cancel on the browser page: stops the wait, or leaves before the browser was opened. */
/** "Check now" while a Nextcloud Login Flow v2 waits: Homeport asks the server at once. */
export async function checkLoginNow() {
  await commands.loginFlowCheckNow();
}

export async function cancelBrowserLogin() {
  if (wizard.busy) {
    await cancel();
    return;
  }
  // Declining drops the wizard (and closes its loopback listener); its refusal is no news here.
  await commands.wizardAnswer({ answer: "decline" }, ++nextCall);
  wizard.error = null;
  wizard.notice = CANCELLED_NOTICE;
  show({ name: "address" });
}

/** "Continue as …" on the another-user page: the account is the provider's user. */
export async function continueAsLoggedInUser() {
  await step(m.busy_verifying, (id) => commands.wizardAnswer({ answer: "continue_as_logged_in_user" }, id));
}

/**
 * "Start over" on the another-user page: the engine ends the connection (`other_user`), and the
 * address page comes back with the address kept and the error saying what to do.
 */
export async function startOverAsTypedUser() {
  await step(m.busy_stopping, (id) => commands.wizardAnswer({ answer: "decline" }, id));
}

export async function copyLoginLink() {
  if (wizard.page.name !== "browser") return;
  const link = wizard.page.decision.url;
  try {
    await navigator.clipboard.writeText(link);
  } catch {
    // No asynchronous clipboard here: copy the selected field the classic way.
    const field = document.getElementById("browser-url") as HTMLInputElement | null;
    field?.select();
    document.execCommand("copy");
  }
  wizard.linkCopied = true;
  // Selecting the field (the fallback) moves the focus there; keep it on Copy, which the person
  // pressed, so Tab goes on to "Open the login page".
  document.getElementById("copy-url")?.focus();
}

export async function chooseInstance(url: string) {
  await step(m.busy_verifying, (id) =>
    commands.wizardAnswer({ answer: "choose_instance", instance: url }, id),
  );
}

export async function cancel() {
  if (wizard.busy && runningCall !== null) await commands.wizardCancel(runningCall);
}

/** Back to the address page. A new account (the "Add account" tab) starts with an empty
 *  diagram; "Start over" after a failure keeps the one that shows what went wrong. */
export function startOver(newAccount = false) {
  wizard.error = null;
  wizard.notice = null;
  if (newAccount) wizard.items = [];
  show({ name: "address" });
}
