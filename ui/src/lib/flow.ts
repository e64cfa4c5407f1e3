// Which page the wizard shows, from what the engine answered. Pure, so it is unit-tested.
import type { Account, Decision, ErrorReport, OidcInfo, Verified, WizardOutcome } from "./bindings";
import { formatDateTime, formatTimeOfDay } from "./i18n.svelte";
import { m } from "../paraglide/messages.js";

/** Words to show, in the language of the moment they are drawn (the language may change while shown). */
export type Words = () => string;

export type LoginDecision = Extract<Decision, { decision: "needs_credentials" }>;
export type RedirectDecision = Extract<Decision, { decision: "confirm_redirect" }>;
export type PlainHttpDecision = Extract<Decision, { decision: "confirm_plain_http" }>;
export type BrowserDecision = Extract<Decision, { decision: "open_browser" }>;
export type ConfirmUserDecision = Extract<Decision, { decision: "confirm_user" }>;
export type ChooseInstanceDecision = Extract<Decision, { decision: "choose_instance" }>;
export type TrustDecision = Extract<Decision, { decision: "trust_certificate" }>;
export type ClientCertificateDecision = Extract<Decision, { decision: "client_certificate" }>;

export type Page =
  | { name: "address" }
  | { name: "login"; decision: LoginDecision }
  | { name: "redirect"; decision: RedirectDecision }
  | { name: "plain-http"; decision: PlainHttpDecision }
  | { name: "browser"; decision: BrowserDecision }
  | { name: "confirm-user"; decision: ConfirmUserDecision }
  | { name: "choose-instance"; decision: ChooseInstanceDecision }
  | { name: "trust"; decision: TrustDecision }
  | { name: "client-certificate"; decision: ClientCertificateDecision }
  | { name: "verified"; verified: Verified }
  | { name: "server-check"; address: string }
  | { name: "accounts" };

export function pageForOutcome(outcome: WizardOutcome): Page {
  if (outcome.outcome === "verified") return { name: "verified", verified: outcome.verified };
  const decision = outcome.decision;
  switch (decision.decision) {
    case "needs_credentials":
      return { name: "login", decision };
    case "confirm_redirect":
      return { name: "redirect", decision };
    case "confirm_plain_http":
      return { name: "plain-http", decision };
    case "open_browser":
      return { name: "browser", decision };
    case "confirm_user":
      return { name: "confirm-user", decision };
    case "choose_instance":
      return { name: "choose-instance", decision };
    case "trust_certificate":
      return { name: "trust", decision };
    case "client_certificate":
      return { name: "client-certificate", decision };
  }
}

/**
 * Where an error is shown. `login` is the last login form of this connection: a wrong password
 * returns there (the engine asks again, and the fields keep what was typed).
 */
export function pageAfterError(current: Page, error: ErrorReport, login: LoginDecision | null, address: string): Page {
  switch (error.code) {
    case "bad_input":
      // A wrong password or an unusable file: the certificate page stays, with what was typed.
      if (current.name === "client-certificate" && isCertificateFileError(error)) return current;
      return { name: "address" };
    case "cancelled":
      // The step was aborted and its wizard dropped: start again from the (kept) address.
      return current.name === "accounts" ? current : { name: "address" };
    case "auth_failed":
      return login && !isFinalRefusal(error) ? { name: "login", decision: login } : { name: "address" };
    case "server_not_ready":
      return { name: "server-check", address };
    case "keyring_unavailable":
      // The verified account is kept: Done can be pressed again once the keyring is unlocked.
      return current.name === "verified" ? current : { name: "address" };
    default:
      return { name: "address" };
  }
}

/** The password does not open the certificate file, or the file is unusable: ask again on the page. */
export function isCertificateFileError(error: ErrorReport): boolean {
  return error.reason === "client_certificate_password" || error.reason === "client_certificate_file";
}

/**
 * A path typed or pasted into the certificate field: a `file://` URI (what a file manager copies)
 * becomes its path; anything else is kept as typed, trimmed.
 */
export function certificatePath(typed: string): string {
  const text = typed.trim();
  if (!text.startsWith("file://")) return text;
  try {
    return decodeURIComponent(new URL(text).pathname);
  } catch {
    return text;
  }
}

/**
 * The reason in an error's `detail` (the CLI's `--json` words), for the error box's `data-reason`
 * attribute only: the UI's branches use the typed `reason` (the same word where both exist).
 */
export function errorReason(error: ErrorReport): string | null {
  const detail = error.detail;
  if (!detail || typeof detail !== "object" || Array.isArray(detail)) return null;
  const reason = detail["reason"];
  return typeof reason === "string" ? reason : null;
}

/** The proxy (the person's own, or the system's) failed, not the server: the error offers the proxy settings. */
export function isProxyFailure(error: ErrorReport): boolean {
  return error.code === "unreachable" && error.reason === "proxy";
}

/**
 * An `auth_failed` that typing the password again cannot fix: a disabled account, a refused
 * tenant, a login the server refused outright, a rate limit already waited out, an expired login.
 * The engine marks the one that can be fixed — a wrong password — with `reason: "wrong_password"`;
 * only that keeps the form.
 */
export function isFinalRefusal(error: ErrorReport): boolean {
  return error.code === "auth_failed" && error.reason !== "wrong_password";
}

export const CANCELLED_NOTICE: Words = () => m.notice_cancelled();

/**
 * How an error is shown: Cancel is the person's own choice, so it is a neutral notice, not an
 * alert; everything else goes to the `#error` box. Decided on `code` only.
 */
export function messagesAfterError(report: ErrorReport): { notice: Words | null; error: ErrorReport | null } {
  if (report.code === "cancelled") return { notice: CANCELLED_NOTICE, error: null };
  return { notice: null, error: report };
}

/** Whether a typed address is worth sending to the engine (it does the real parsing). */
export function addressProblem(address: string): Words | null {
  const trimmed = address.trim();
  if (trimmed === "") return () => m.address_problem_empty();
  if (/\s/.test(trimmed)) return () => m.address_problem_spaces();
  return null;
}

export function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

export function formatTime(unixSeconds: number | null): string {
  if (unixSeconds === null) return m.time_never();
  return formatDateTime(unixSeconds);
}

/**
 * Whether a failed re-verify calls for a new login: the stored sign-in (an OIDC refresh token, a
 * Matrix access token) is no longer accepted. The engine says so with `reason: "login_expired"`.
 */
export function needsNewLogin(report: ErrorReport): boolean {
  return report.code === "auth_failed" && report.reason === "login_expired";
}

export function isMatrixAccount(account: Account): boolean {
  return account.kind === "matrix";
}

/** What the keyring holds for an account, in words (an OIDC account keeps no password). */
export function secretName(account: Account): string {
  if (isMatrixAccount(account)) return m.secret_matrix();
  if (account.auth_method === "app_password") return m.secret_app_password();
  return account.auth_method === "oidc" ? m.secret_oidc() : m.secret_password();
}

/** A Nextcloud server's Login Flow v2 (docs/protocols/nextcloud-login-flow.md): Homeport asks the
 *  server every few seconds whether the person granted access; no way back to this computer. */
export function isNextcloudFlow(decision: BrowserDecision): boolean {
  return decision.protocol === "nextcloud";
}

/**
 * A Matrix server's login form (the user name is the Matrix ID's localpart); only the wording of
 * the form depends on it. The engine says which protocol asks.
 */
export function isMatrixLogin(decision: LoginDecision): boolean {
  return decision.protocol === "matrix";
}

/** The server offers a login in the browser (SSO) besides the password: the engine says so. */
export function offersBrowserLogin(decision: LoginDecision): boolean {
  return decision.browser_login;
}

/**
 * The identity provider is on another site than the server the person typed: the browser page
 * names both, and opening the login page is the person's consent (the engine says so).
 */
export function isIssuerElsewhere(decision: BrowserDecision): boolean {
  return decision.protocol === "oidc" && decision.issuer_elsewhere;
}

/**
 * The provider's user, as the "another user" page names them: "Marie Curie (marie)", or the
 * login name alone when the provider gave no name.
 */
export function loggedInName(decision: ConfirmUserDecision): string {
  const name = decision.display_name?.trim();
  return name && name !== decision.logged_in ? `${name} (${decision.logged_in})` : decision.logged_in;
}

/**
 * A login without a refresh token ends (the engine's `login_expires_at`, Unix seconds): when, in
 * words, from the typed field (never the engine's English). Null for a login that refreshes
 * itself.
 */
export function loginEndWords(oidc: OidcInfo | null | undefined, nowSeconds: number): string | null {
  const end = oidc?.login_expires_at;
  if (end === null || end === undefined) return null;
  if (end <= nowSeconds) return m.login_ended();
  const minutes = Math.ceil((end - nowSeconds) / 60);
  return m.login_ends({ count: minutes, time: formatTimeOfDay(end) });
}

/**
 * A redirect of a Matrix login: the portal answered the login POST with 307
 * (docs/protocols/matrix-msc1730.md). Only the wording depends on it; what is re-sent comes from
 * the engine (`resends`).
 */
export function isMatrixRedirect(decision: RedirectDecision): boolean {
  return decision.protocol === "matrix";
}

/** What following a redirect re-sends, in words. */
export function resentWords(decision: RedirectDecision): string {
  switch (decision.resends) {
    case "login_token":
      return m.resent_login_token();
    case "app_password":
      return m.resent_app_password();
    default:
      return m.resent_password();
  }
}

/** A login at a Matrix homeserver's authorization server (its OAuth 2.0 API,
 *  docs/protocols/matrix-oauth.md). */
export function isMatrixOAuth(decision: BrowserDecision): boolean {
  return decision.protocol === "matrix_oauth";
}

/** A browser login at a Matrix server (SSO), rather than at an OpenID Provider. */
export function isMatrixSso(decision: BrowserDecision): boolean {
  return decision.protocol === "matrix";
}

/**
 * How the account was reached when the portal named its homeserver in the login answer (proxy
 * mode): the portal and the homeserver differ, and no redirect led there. Null otherwise.
 */
export function portalHop(verified: Verified): { portal: string; homeserver: string } | null {
  const account = verified.account;
  if (!isMatrixAccount(account) || verified.redirects.length > 0) return null;
  const portal = originOf(account.server_url);
  const homeserver = originOf(account.instance_url);
  return portal === homeserver ? null : { portal, homeserver };
}

/**
 * A SHA-256 fingerprint (`AB:CD:…`, 32 pairs) in rows of 8 pairs, for reading and comparing.
 * Anything else is returned as one row, unchanged.
 */
export function fingerprintRows(sha256: string): string[] {
  const pairs = sha256.trim().toUpperCase().split(":");
  if (pairs.length !== 32 || !pairs.every((pair) => /^[0-9A-F]{2}$/.test(pair))) return [sha256];
  const rows: string[] = [];
  for (let at = 0; at < pairs.length; at += 8) rows.push(pairs.slice(at, at + 8).join(":"));
  return rows;
}

/** A fingerprint as a screen reader should read it: pairs apart, rows as pauses. */
export function fingerprintSpoken(sha256: string): string {
  return fingerprintRows(sha256)
    .map((row, index) => m.trust_fingerprint_row({ row: index + 1, pairs: row.split(":").join(" ") }))
    .join(", ");
}

/** The certificate an account trusts (pinned when it was added), if any. */
export function trustedCertificate(account: Account): string | null {
  return account.trusted_certificates?.[0]?.sha256 ?? null;
}

/** What to do when "Try again" is pressed after a keyring error: save again, or reload the list. */
export function keyringRetry(page: Page, error: ErrorReport | null): "save" | "list" | null {
  if (error?.code !== "keyring_unavailable") return null;
  if (page.name === "verified") return "save";
  if (page.name === "accounts") return "list";
  return null;
}

/** An address in the pieces it may wrap between: after `/ . : ? & = @`, never inside a word. */
export function breakParts(text: string): string[] {
  return text.split(/(?<=[/.:?&=@])/);
}
