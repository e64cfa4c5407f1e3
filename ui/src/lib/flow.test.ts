import { describe, expect, it } from "vitest";
import type { Account, ErrorReport, WizardOutcome } from "./bindings";
import { explain } from "./explain";
import {
  addressProblem,
  CANCELLED_NOTICE,
  messagesAfterError,
  needsNewLogin,
  pageAfterError,
  pageForOutcome,
  secretName,
} from "./flow";
import type { LoginDecision, Page } from "./flow";

const login: LoginDecision = {
  decision: "needs_credentials",
  server: "http://127.0.0.1:4000/",
  realm: "ownCloud",
  login_hint: null,
  product: "ownCloud 10.13.4",
};
const error = (code: ErrorReport["code"], detail: ErrorReport["detail"] = null): ErrorReport => ({
  code,
  message: "m",
  detail,
});
const redirectPage: Page = {
  name: "redirect",
  decision: {
    decision: "confirm_redirect",
    from: "http://127.0.0.1:4000",
    to: "http://127.0.0.1:4002",
    location: "http://127.0.0.1:4002/remote.php/webdav/",
    status: 301,
    permanent: true,
  },
};

describe("pages for the engine's answers", () => {
  it("shows each decision as its own page", () => {
    const outcome: WizardOutcome = { outcome: "decide", decision: login };
    expect(pageForOutcome(outcome)).toEqual({ name: "login", decision: login });
    const plain: WizardOutcome = { outcome: "decide", decision: { decision: "confirm_plain_http", url: "http://x/" } };
    expect(pageForOutcome(plain).name).toBe("plain-http");
  });

  it("returns to the login form after a wrong password, even from the redirect page", () => {
    expect(pageAfterError(redirectPage, error("auth_failed"), login, "a")).toEqual({ name: "login", decision: login });
    expect(pageAfterError(redirectPage, error("auth_failed"), null, "a")).toEqual({ name: "address" });
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
    expect(addressProblem("  ")).toMatch(/Type/);
    expect(addressProblem("cloud example.com")).toMatch(/spaces/);
    expect(addressProblem(" https://cloud.example.com ")).toBeNull();
  });
});

describe("messages after an error", () => {
  it("turns Cancel into a neutral notice, whatever the message says", () => {
    const cancelled = { code: "cancelled" as const, message: "aborted by user", detail: null };
    expect(messagesAfterError(cancelled)).toEqual({ notice: "Cancelled. Nothing was saved.", error: null });
    expect(CANCELLED_NOTICE).toBe("Cancelled. Nothing was saved.");
  });

  it("puts every other error in the alert box and clears an old notice", () => {
    const failed = error("auth_failed");
    const shown = messagesAfterError(failed);
    expect(shown.error).toBe(failed);
    expect(shown.notice).toBe("");
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

  it("offers a new login in the browser when the stored sign-in is refused", () => {
    expect(needsNewLogin(account("oidc"), error("auth_failed"))).toBe(true);
    expect(needsNewLogin(account("basic"), error("auth_failed")), "a password account retypes its password").toBe(false);
    expect(needsNewLogin(account("oidc"), error("unreachable")), "an unreachable server is no login problem").toBe(false);
  });

  it("does not offer a new login where it cannot help", () => {
    const disabled = error("auth_failed", { server: "s", reason: "account_disabled" });
    expect(needsNewLogin(account("oidc"), disabled)).toBe(false);
    expect(explain(disabled).title).toMatch(/disabled/);
    const tenant = error("auth_failed", { tenant: "tenant3", reason: "not subscribed" });
    expect(needsNewLogin(account("oidc"), tenant)).toBe(false);
    expect(explain(tenant).title).toMatch(/tenant/);
  });

  it("names what the keyring holds", () => {
    expect(secretName(account("oidc"))).toBe("sign-in token");
    expect(secretName(account("basic"))).toBe("password");
  });
});
