import { describe, expect, it } from "vitest";
import type { Account, ErrorReport, Verified, WizardOutcome } from "./bindings";
import { explain } from "./explain";
import {
  addressProblem,
  CANCELLED_NOTICE,
  fingerprintRows,
  fingerprintSpoken,
  keyringRetry,
  trustedCertificate,
  isFinalRefusal,
  isMatrixLogin,
  isMatrixRedirect,
  isMatrixSso,
  offersBrowserLogin,
  messagesAfterError,
  needsNewLogin,
  pageAfterError,
  pageForOutcome,
  portalHop,
  resentWords,
  secretName,
} from "./flow";
import type { LoginDecision, Page, RedirectDecision } from "./flow";

const login: LoginDecision = {
  decision: "needs_credentials",
  server: "http://127.0.0.1:4000/",
  realm: "ownCloud",
  login_hint: null,
  product: "ownCloud 10.13.4",
  browser_login: false,
  protocol: "owncloud",
};
/** An error as the engine reports it: the typed `reason` is `detail.reason` where that names one. */
const error = (
  code: ErrorReport["code"],
  detail: ErrorReport["detail"] = null,
  reason: ErrorReport["reason"] = undefined,
): ErrorReport => {
  const said = detail && typeof detail === "object" && !Array.isArray(detail) ? detail["reason"] : undefined;
  return { code, message: "m", detail, reason: reason ?? (said as ErrorReport["reason"]) };
};
const redirectPage: Page = {
  name: "redirect",
  decision: {
    decision: "confirm_redirect",
    from: "http://127.0.0.1:4000",
    to: "http://127.0.0.1:4002",
    location: "http://127.0.0.1:4002/remote.php/webdav/",
    status: 301,
    permanent: true,
    resends: "password",
    protocol: "owncloud",
  },
};

describe("pages for the engine's answers", () => {
  it("shows each decision as its own page", () => {
    const outcome: WizardOutcome = { outcome: "decide", decision: login };
    expect(pageForOutcome(outcome)).toEqual({ name: "login", decision: login });
    const plain: WizardOutcome = { outcome: "decide", decision: { decision: "confirm_plain_http", url: "http://x/" } };
    expect(pageForOutcome(plain).name).toBe("plain-http");
    const certificate = {
      subject: "CN=rcgen self signed cert",
      issuer: "CN=rcgen self signed cert",
      not_before: "Mon, 01 Jan 2024 00:00:00 +0000",
      not_after: "Fri, 01 Jan 4096 00:00:00 +0000",
      sha256: "AB:".repeat(31) + "AB",
    };
    const trust: WizardOutcome = {
      outcome: "decide",
      decision: { decision: "trust_certificate", url: "https://127.0.0.1:4000/", certificate },
    };
    expect(pageForOutcome(trust)).toEqual({ name: "trust", decision: trust.decision });
  });

  it("returns to the login form after a wrong password, even from the redirect page", () => {
    const wrong = error("auth_failed", { origin: "o", user: "u", at: "login", reason: "wrong_password" });
    expect(pageAfterError(redirectPage, wrong, login, "a")).toEqual({ name: "login", decision: login });
    expect(pageAfterError(redirectPage, wrong, null, "a")).toEqual({ name: "address" });
    expect(
      pageAfterError(redirectPage, error("auth_failed"), login, "a"),
      "an auth_failed the engine does not call a wrong password ends the connection",
    ).toEqual({ name: "address" });
  });

  it("explains a server that is not ready on the server-check page", () => {
    const notReady = error("server_not_ready", { server: "s", reason: "maintenance" });
    expect(pageAfterError({ name: "address" }, notReady, null, "http://s/")).toEqual({
      name: "server-check",
      address: "http://s/",
    });
    expect(explain(notReady).title).toMatch(/maintenance/);
    expect(explain(error("server_not_ready", { reason: "needs_db_upgrade" })).title).toMatch(/upgraded/);
  });

  it("keeps a verified account when the keyring is locked, so Done can be pressed again", () => {
    const verified = { name: "verified" } as Page;
    expect(pageAfterError(verified, error("keyring_unavailable"), null, "a")).toBe(verified);
  });

  it("goes back to the address after Cancel, except on the accounts page", () => {
    expect(pageAfterError(redirectPage, error("cancelled"), login, "a")).toEqual({ name: "address" });
    const accounts: Page = { name: "accounts" };
    expect(pageAfterError(accounts, error("cancelled"), null, "a")).toBe(accounts);
  });

  it("has plain words for every error code", () => {
    const codes: ErrorReport["code"][] = [
      "bad_input", "unreachable", "tls", "auth_failed", "server_not_ready", "policy_refused",
      "keyring_unavailable", "not_found", "protocol", "cancelled", "internal",
    ];
    for (const code of codes) {
      const { title, hint } = explain(error(code));
      expect(title.length, code).toBeGreaterThan(3);
      expect(hint.length, code).toBeGreaterThan(3);
    }
  });

  it("catches empty and spaced addresses before asking the engine", () => {
    expect(addressProblem("  ")?.()).toMatch(/Type/);
    expect(addressProblem("cloud example.com")?.()).toMatch(/spaces/);
    expect(addressProblem(" https://cloud.example.com ")).toBeNull();
  });
});

describe("messages after an error", () => {
  it("turns Cancel into a neutral notice, whatever the message says", () => {
    const cancelled = { code: "cancelled" as const, message: "aborted by user", detail: null };
    expect(messagesAfterError(cancelled).notice?.()).toBe("Cancelled. Nothing was saved.");
    expect(messagesAfterError(cancelled).error).toBeNull();
    expect(CANCELLED_NOTICE()).toBe("Cancelled. Nothing was saved.");
  });

  it("puts every other error in the alert box and clears an old notice", () => {
    const failed = error("auth_failed");
    const shown = messagesAfterError(failed);
    expect(shown.error).toBe(failed);
    expect(shown.notice).toBeNull();
  });
});

describe("OIDC accounts", () => {
  const account = (auth_method: Account["auth_method"]): Account => ({
    id: "acct-1",
    kind: auth_method === "oidc" ? "ocis" : "owncloud",
    entered_address: "http://127.0.0.1:4100/",
    server_url: "http://127.0.0.1:4100/",
    instance_url: "http://127.0.0.1:4101/",
    login_name: "einstein",
    user_id: "einstein",
    display_name: "Albert Einstein",
    auth_method,
    created_at: 1,
    verified_at: 1,
  });

  it("offers a new login in the browser when the stored sign-in has expired", () => {
    expect(needsNewLogin(error("auth_failed", { reason: "login_expired" }))).toBe(true);
    const wrong = error("auth_failed", { origin: "o", user: "u", at: "login", reason: "wrong_password" });
    expect(needsNewLogin(wrong), "a password account retypes its password").toBe(false);
    expect(needsNewLogin(error("unreachable")), "an unreachable server is no login problem").toBe(false);
  });

  it("does not offer a new login where it cannot help", () => {
    const disabled = error("auth_failed", { server: "s", reason: "account_disabled" });
    expect(needsNewLogin(disabled)).toBe(false);
    expect(explain(disabled).title).toMatch(/disabled/);
    const tenant = error("auth_failed", { tenant: "tenant3", reason: "not subscribed" }, "tenant_refused");
    expect(needsNewLogin(tenant)).toBe(false);
    expect(explain(tenant).title).toMatch(/tenant/);
  });

  it("names what the keyring holds", () => {
    expect(secretName(account("oidc"))).toBe("sign-in token");
    expect(secretName(account("basic"))).toBe("password");
  });
});

describe("Matrix behind a portal", () => {
  const matrixLogin: LoginDecision = {
    decision: "needs_credentials",
    server: "http://proxy.localhost:4200/",
    realm: null,
    login_hint: "alice",
    product: "Matrix (client-server API v1.11)",
    browser_login: true,
    protocol: "matrix",
  };
  const matrixAccount = (server_url: string, instance_url: string): Account => ({
    id: "acct-m",
    kind: "matrix",
    entered_address: "@alice:proxy.localhost:4200",
    server_url,
    instance_url,
    login_name: "alice",
    user_id: "@alice:hs1.localhost:4201",
    display_name: "Alice",
    auth_method: "matrix_password",
    created_at: 1,
    verified_at: 1,
    matrix: { device_id: "DEV1" },
  });
  const verified = (account: Account, redirects: Verified["redirects"] = []): Verified => ({
    account,
    avatar: null,
    initials: "A",
    redirects,
    round_trips: 4,
    already_stored: false,
  });

  it("knows a Matrix login form from an ownCloud one, and offers SSO only where the engine says so", () => {
    expect(isMatrixLogin(matrixLogin)).toBe(true);
    expect(isMatrixLogin(login)).toBe(false);
    expect(offersBrowserLogin(matrixLogin)).toBe(true);
    expect(offersBrowserLogin(login)).toBe(false);
    expect(offersBrowserLogin({ ...matrixLogin, browser_login: false }), "a Matrix server without SSO").toBe(false);
  });

  it("tells the 307 of a Matrix login from an ownCloud redirect", () => {
    const matrix307: RedirectDecision = {
      decision: "confirm_redirect",
      from: "http://redirect.localhost:4202",
      to: "http://hs2.localhost:4203",
      location: "http://hs2.localhost:4203/_matrix/client/v3/login",
      status: 307,
      permanent: false,
      resends: "password",
      protocol: "matrix",
    };
    expect(isMatrixRedirect(matrix307)).toBe(true);
    expect(resentWords(matrix307)).toBe("your password");
    expect(resentWords({ ...matrix307, resends: "login_token" }), "an SSO login re-sends its token").toMatch(/login token/);
    if (redirectPage.name !== "redirect") throw new Error("fixture");
    expect(isMatrixRedirect(redirectPage.decision)).toBe(false);
  });

  it("tells Matrix SSO from an OpenID Provider's login page", () => {
    const sso = "http://proxy.localhost:4200/_matrix/client/v3/login/sso/redirect?redirectUrl=x";
    expect(isMatrixSso({ decision: "open_browser", url: sso, issuer: "http://proxy.localhost:4200/", server: "http://proxy.localhost:4200/", issuer_elsewhere: false, protocol: "matrix" })).toBe(true);
    const idp = "http://127.0.0.1:4300/authorize?client_id=c";
    expect(isMatrixSso({ decision: "open_browser", url: idp, issuer: "http://127.0.0.1:4300", server: "http://127.0.0.1:4200/", issuer_elsewhere: false, protocol: "oidc" })).toBe(false);
  });

  it("shows the portal → homeserver hop when the portal's answer named the homeserver", () => {
    const proxied = verified(matrixAccount("http://proxy.localhost:4200/", "http://hs1.localhost:4201/"));
    expect(portalHop(proxied)).toEqual({ portal: "http://proxy.localhost:4200", homeserver: "http://hs1.localhost:4201" });
    const hop = { from: "http://redirect.localhost:4202/", to: "http://hs2.localhost:4203/", status: 307, permanent: false };
    const redirected = verified(matrixAccount("http://redirect.localhost:4202/", "http://hs2.localhost:4203/"), [hop]);
    expect(portalHop(redirected), "a 307 is shown as the redirect it was").toBeNull();
    const direct = verified(matrixAccount("http://hs1.localhost:4201/", "http://hs1.localhost:4201/"));
    expect(portalHop(direct), "a homeserver typed directly has no hop").toBeNull();
  });

  it("keeps the password form only for a wrong password", () => {
    const wrong = error("auth_failed", {
      origin: "http://proxy.localhost:4200",
      user: "alice",
      at: "login",
      reason: "wrong_password",
    });
    expect(isFinalRefusal(wrong)).toBe(false);
    expect(pageAfterError({ name: "login", decision: matrixLogin }, wrong, matrixLogin, "a").name).toBe("login");
    const deactivated = error("auth_failed", { server: "s", reason: "account_disabled" });
    const limited = error("auth_failed", { server: "s", retry_after_ms: 400 }, "rate_limited");
    const refused = error("auth_failed", { server: "s", errcode: "M_UNKNOWN" }, "matrix_refused");
    for (const final of [deactivated, limited, refused]) {
      expect(isFinalRefusal(final), JSON.stringify(final.detail)).toBe(true);
      expect(pageAfterError({ name: "login", decision: matrixLogin }, final, matrixLogin, "a").name).toBe("address");
    }
    expect(explain(limited).title).toMatch(/busy/);
    expect(explain(refused).title).toMatch(/Matrix/);
    expect(explain(error("protocol", { base_url: "http://hs9.localhost/" }, "homeserver_unusable")).title).toMatch(/homeserver/);
  });

  it("offers a new login when the homeserver forgot the stored token, and names the tokens", () => {
    const account = matrixAccount("http://proxy.localhost:4200/", "http://hs1.localhost:4201/");
    expect(needsNewLogin(error("auth_failed", { reason: "login_expired" }))).toBe(true);
    expect(needsNewLogin(error("unreachable"))).toBe(false);
    expect(needsNewLogin(error("auth_failed", { server: "s", reason: "account_disabled" }))).toBe(false);
    expect(secretName(account)).toBe("access and refresh tokens");
  });
});

describe("certificates", () => {
  const sha256 = Array.from({ length: 32 }, (_, i) => i.toString(16).toUpperCase().padStart(2, "0")).join(":");

  it("shows a fingerprint in four rows of eight pairs that join back to it", () => {
    const rows = fingerprintRows(sha256);
    expect(rows).toHaveLength(4);
    expect(rows[0]).toBe("00:01:02:03:04:05:06:07");
    expect(rows.join(":")).toBe(sha256);
    expect(fingerprintRows("not a fingerprint")).toEqual(["not a fingerprint"]);
    expect(fingerprintSpoken(sha256).startsWith("row 1: 00 01 02")).toBe(true);
  });

  it("names the certificate an account trusts", () => {
    const account = { trusted_certificates: [{ authority: "127.0.0.1:4000", sha256 }] } as unknown as Account;
    expect(trustedCertificate(account)).toBe(sha256);
    expect(trustedCertificate({} as Account)).toBeNull();
  });

  it("offers Try again for the keyring where it can repeat something", () => {
    const keyring = error("keyring_unavailable", { keyring: "locked" }, "keyring_locked");
    const verifiedPage = { name: "verified" } as Page;
    expect(keyringRetry(verifiedPage, keyring)).toBe("save");
    expect(keyringRetry({ name: "accounts" }, keyring)).toBe("list");
    expect(keyringRetry({ name: "address" }, keyring)).toBeNull();
    expect(keyringRetry(verifiedPage, error("internal"))).toBeNull();
  });

  it("words each certificate problem, the changed one loudest", () => {
    const tls = (reason: string) => explain(error("tls", { url: "https://x/", reason }));
    expect(tls("changed").loud).toBe(true);
    expect(tls("changed").hint).toContain("remove the account and add it again");
    expect(tls("changed").hint).toContain("does not accept it silently");
    expect(tls("not_yet_valid").hint).toContain("date and time");
    expect(tls("wrong_host").title).toContain("another server");
    expect(tls("expired").title).toContain("expired");
    expect(tls("weak_signature").title).toContain("weak");
    expect(tls("untrusted").title).toContain("not trusted");
    const titles = new Set(["changed", "untrusted", "wrong_host", "expired", "not_yet_valid", "weak_signature"].map((r) => tls(r).title));
    expect(titles.size).toBe(6);
    expect(tls("expired").loud).toBeFalsy();
  });

  it("explains a keyring: what it is, never a file, how to unlock", () => {
    const locked = explain(error("keyring_unavailable", { keyring: "locked" }, "keyring_locked"));
    expect(locked.title).toContain("locked");
    expect(locked.hint).toContain("never in a file");
    expect(locked.hint).toContain("unlock");
    const missing = explain(error("keyring_unavailable", { keyring: "unavailable" }));
    expect(missing.title).toContain("not available");
    expect(missing.hint).toContain("Start one");
  });
});

describe("addresses that wrap at sensible points", () => {
  it("breaks after separators only, and the pieces join to the address exactly", async () => {
    const { breakParts } = await import("./flow");
    const id = "@einstein:oauth.localhost:38573";
    expect(breakParts(id)).toEqual(["@", "einstein:", "oauth.", "localhost:", "38573"]);
    const url = "https://cloud.example.com/remote.php/dav?x=1&y=2";
    expect(breakParts(url).join("")).toBe(url);
    expect(breakParts(url)).toContain("remote.");
  });
});
