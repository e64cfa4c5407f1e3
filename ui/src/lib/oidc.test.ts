// The OpenID Connect pieces of the pages: a provider on another site, another user than typed,
// a login without refresh token, and the advanced client settings. Branches on typed fields only.
import { describe, expect, it } from "vitest";
import type { ErrorReport, WizardOutcome } from "./bindings";
import { clientSetting, settingsCount } from "./client.svelte";
import type { ClientFields } from "./client.svelte";
import { explain } from "./explain";
import { isFinalRefusal, isIssuerElsewhere, loggedInName, loginEndWords, pageAfterError, pageForOutcome } from "./flow";
import type { BrowserDecision, ConfirmUserDecision } from "./flow";

const browser = (issuer_elsewhere: boolean): BrowserDecision => ({
  decision: "open_browser",
  url: "https://login.example.org/authorize?client_id=c",
  issuer: "https://login.example.org",
  server: "https://cloud.example.com/",
  issuer_elsewhere,
  protocol: "oidc",
});
const confirm: ConfirmUserDecision = {
  decision: "confirm_user",
  typed: "einstein",
  logged_in: "marie",
  display_name: "Marie Curie",
};

describe("a provider on another site", () => {
  it("is named as such only when the engine says so", () => {
    expect(isIssuerElsewhere(browser(true))).toBe(true);
    expect(isIssuerElsewhere(browser(false))).toBe(false);
    expect(isIssuerElsewhere({ ...browser(true), protocol: "matrix" }), "Matrix SSO is the server's own").toBe(false);
  });

  it("stays on the browser page, whose decline is a policy refusal", () => {
    const outcome: WizardOutcome = { outcome: "decide", decision: browser(true) };
    expect(pageForOutcome(outcome).name).toBe("browser");
    const refused: ErrorReport = { code: "policy_refused", message: "m", detail: { server: "s", issuer: "i" } };
    expect(pageAfterError({ name: "browser", decision: browser(true) }, refused, null, "x").name).toBe("address");
    expect(explain(refused).title).toBe("Homeport stopped to protect your login");
  });
});

describe("another user than typed", () => {
  it("has its own page, naming the provider's user", () => {
    const page = pageForOutcome({ outcome: "decide", decision: confirm });
    expect(page).toEqual({ name: "confirm-user", decision: confirm });
    expect(loggedInName(confirm)).toBe("Marie Curie (marie)");
    expect(loggedInName({ ...confirm, display_name: null })).toBe("marie");
    expect(loggedInName({ ...confirm, display_name: "marie" })).toBe("marie");
  });

  it("starting over goes back to the address (kept by the page) with words that say what to do", () => {
    const report: ErrorReport = { code: "auth_failed", message: "m", detail: null, reason: "other_user" };
    expect(isFinalRefusal(report), "typing a password again would not help").toBe(true);
    expect(pageAfterError({ name: "confirm-user", decision: confirm }, report, null, "http://einstein@x/")).toEqual({
      name: "address",
    });
    const words = explain(report);
    expect(words.title).toBe("You logged in as someone else");
    expect(words.hint).toContain("Log out at the identity provider first");
  });
});

describe("a provider on another site that was not approved", () => {
  it("names both sites and says nothing was sent", () => {
    const report: ErrorReport = {
      code: "policy_refused",
      message: "m",
      detail: { server: "https://cloud.example.com/", issuer: "https://login.example.org" },
      reason: "issuer_not_approved",
    };
    const words = explain(report);
    expect(words.title).toBe("The login at another site was not approved");
    expect(words.hint).toContain("https://cloud.example.com/ logs in at https://login.example.org");
    expect(words.hint).toContain("Nothing was sent there");
    const other = explain({ ...report, reason: null });
    expect(other.title, "other refusals keep their words").toBe("Homeport stopped to protect your login");
  });
});

describe("a login without refresh token", () => {
  const oidc = (login_expires_at: number | null) => ({ issuer: "https://idp", client_id: "c", login_expires_at });

  it("says in how many minutes it ends, from the typed field", () => {
    expect(loginEndWords(oidc(1000 + 5 * 60), 1000)).toMatch(/log in again in 5 minutes \(at .+\)\.$/);
    expect(loginEndWords(oidc(1000 + 30), 1000)).toContain("in 1 minute (");
    expect(loginEndWords(oidc(1000 + 61), 1000), "rounded up").toContain("in 2 minutes");
    expect(loginEndWords(oidc(999), 1000)).toMatch(/^This login has ended/);
  });

  it("says nothing for a login that refreshes itself, or for no OIDC at all", () => {
    expect(loginEndWords(oidc(null), 1000)).toBeNull();
    expect(loginEndWords({ issuer: "https://idp", client_id: "c" }, 1000)).toBeNull();
    expect(loginEndWords(null, 1000)).toBeNull();
  });
});

describe("advanced: identity provider client", () => {
  const empty: ClientFields = {
    clientId: "",
    clientSecret: "",
    tokenAuth: "automatic",
    scopes: "",
    prompt: "",
    redirectHost: "127.0.0.1",
    redirectPort: "",
  };

  it("sends nothing when every field is empty: Homeport chooses", () => {
    expect(clientSetting(empty)).toBeNull();
    expect(clientSetting({ ...empty, clientId: "  ", scopes: " " })).toBeNull();
    expect(settingsCount(empty)).toBe(0);
  });

  it("sends what was typed, trimmed; the secret as typed; automatic is no choice", () => {
    const fields: ClientFields = {
      ...empty,
      clientId: " homeport ",
      clientSecret: "s3 cret",
      tokenAuth: "client_secret_post",
      scopes: "openid offline_access",
      prompt: "",
    };
    expect(clientSetting(fields)).toEqual({
      client_id: "homeport",
      client_secret: "s3 cret",
      token_auth: "client_secret_post",
      scopes: "openid offline_access",
      prompt: null,
      redirect_host: null,
      redirect_port: null,
    });
    expect(settingsCount(fields)).toBe(4);
    const realm = clientSetting({ ...empty, clientId: "homeport", redirectPort: " 53682 " });
    expect(realm).toMatchObject({ client_id: "homeport", redirect_host: null, redirect_port: "53682" });
    expect(clientSetting({ ...empty, redirectHost: "localhost" })?.redirect_host, "the other host").toBe("localhost");
    expect(clientSetting({ ...empty, tokenAuth: "none" })?.token_auth).toBe("none");
  });
});
