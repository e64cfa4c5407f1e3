import { describe, expect, it } from "vitest";
import type { AutopilotScript, ErrorReport } from "./bindings";
import { nextAction, NOTHING_PLAYED, verdictTitle } from "./autopilot";
import type { Page } from "./flow";

const script: AutopilotScript = {
  name: "S0",
  description: null,
  file: "tests/scenarios/s0-instance2.toml",
  address: "http://127.0.0.1:4000/",
  user: "test@instance2.com",
  password: "secret",
  approve: ["http://127.0.0.1:4002"],
  allow_plain_http: false,
  auto_login: false,
  system_browser: false,
  instance: null,
  approve_issuer: [],
  continue_as: null,
  exit_when_done: false,
};
const login: Page = {
  name: "login",
  decision: {
    decision: "needs_credentials",
    server: "http://127.0.0.1:4000/",
    realm: "ownCloud",
    login_hint: null,
    product: "ownCloud 10.13.4",
    browser_login: false,
    protocol: "owncloud",
  },
};
const redirect = (to: string): Page => ({
  name: "redirect",
  decision: {
    decision: "confirm_redirect",
    from: "http://127.0.0.1:4000",
    to,
    location: `${to}/remote.php/webdav/`,
    status: 301,
    permanent: true,
    resends: "password",
    protocol: "owncloud",
  },
});

describe("the autopilot answers as the headless runner does", () => {
  it("logs in once with the file's credentials, then declines a second login form", () => {
    expect(nextAction(login, script, null, NOTHING_PLAYED)).toEqual({
      action: "log-in",
      user: "test@instance2.com",
      password: "secret",
    });
    expect(nextAction(login, script, null, { ...NOTHING_PLAYED, loggedIn: true })).toEqual({ action: "decline" });
    expect(nextAction(login, { ...script, user: null, password: null }, null, NOTHING_PLAYED).action).toBe("decline");
  });

  it("approves only the origins the file names", () => {
    expect(nextAction(redirect("http://127.0.0.1:4002"), script, null, NOTHING_PLAYED)).toEqual({
      action: "approve-redirect",
      origin: "http://127.0.0.1:4002",
    });
    expect(nextAction(redirect("http://127.0.0.1:4003"), script, null, NOTHING_PLAYED)).toEqual({ action: "decline" });
  });

  it("asks for the browser (SSO) with auto-login and lets the robot log in on the login page", () => {
    const sso: Page = { name: "login", decision: { ...login.decision, browser_login: true } } as Page;
    const auto = { ...script, auto_login: true };
    expect(nextAction(sso, auto, null, NOTHING_PLAYED).action).toBe("use-browser-login");
    expect(nextAction(sso, script, null, NOTHING_PLAYED).action, "without auto-login: the password").toBe("log-in");
    const browser: Page = {
      name: "browser",
      decision: {
        decision: "open_browser",
        url: "http://127.0.0.1:4300/authorize",
        issuer: "http://127.0.0.1:4300",
        server: "http://127.0.0.1:4200/",
        issuer_elsewhere: false,
        protocol: "oidc",
      },
    };
    expect(nextAction(browser, auto, null, NOTHING_PLAYED).action).toBe("open-login-page");
    expect(nextAction(browser, script, null, NOTHING_PLAYED).action, "no browser answer: declined").toBe("decline");
    const system = { ...script, user: null, system_browser: true };
    expect(nextAction(browser, system, null, NOTHING_PLAYED).action, "the system browser logs in").toBe("open-login-page");
  });

  it("logs in at a provider on another site only when the file approves its origin", () => {
    const auto = { ...script, auto_login: true };
    const elsewhere: Page = {
      name: "browser",
      decision: {
        decision: "open_browser",
        url: "https://login.example.org/realms/a/authorize?client_id=c",
        issuer: "https://login.example.org/realms/a",
        server: "https://cloud.example.com/",
        issuer_elsewhere: true,
        protocol: "oidc",
      },
    };
    expect(nextAction(elsewhere, auto, null, NOTHING_PLAYED).action, "not approved: declined").toBe("decline");
    const approved = { ...auto, approve_issuer: ["https://login.example.org"] };
    expect(nextAction(elsewhere, approved, null, NOTHING_PLAYED).action).toBe("open-login-page");
    const other = { ...auto, approve_issuer: ["https://login.example.net"] };
    expect(nextAction(elsewhere, other, null, NOTHING_PLAYED).action, "another origin").toBe("decline");
  });

  it("goes on as another user only when the file names that user", () => {
    const confirm: Page = {
      name: "confirm-user",
      decision: { decision: "confirm_user", typed: "einstein", logged_in: "marie", display_name: "Marie Curie" },
    };
    expect(nextAction(confirm, script, null, NOTHING_PLAYED).action, "no continue_as: start over").toBe("decline");
    expect(nextAction(confirm, { ...script, continue_as: "Marie" }, null, NOTHING_PLAYED).action).toBe(
      "continue-as-logged-in-user",
    );
    expect(nextAction(confirm, { ...script, continue_as: "richard" }, null, NOTHING_PLAYED).action).toBe("decline");
  });

  it("chooses the named instance, and declines plain http unless allowed", () => {
    const choose: Page = {
      name: "choose-instance",
      decision: {
        decision: "choose_instance",
        instances: [
          { url: "http://127.0.0.1:4101/", title: "A" },
          { url: "http://127.0.0.1:4102/", title: "B" },
        ],
      },
    } as Page;
    expect(nextAction(choose, { ...script, instance: "http://127.0.0.1:4102" }, null, NOTHING_PLAYED)).toEqual({
      action: "choose-instance",
      url: "http://127.0.0.1:4102/",
    });
    expect(nextAction(choose, script, null, NOTHING_PLAYED).action).toBe("decline");
    const plain: Page = { name: "plain-http", decision: { decision: "confirm_plain_http", url: "http://x/" } };
    const typedX = { ...script, address: "http://x/", allow_plain_http: true };
    expect(nextAction(plain, { ...typedX, allow_plain_http: false }, null, NOTHING_PLAYED).action).toBe("decline");
    expect(nextAction(plain, typedX, null, NOTHING_PLAYED).action).toBe("allow-plain-http");
    // Consent is for the typed server's origin: a second plain-http origin is declined, as headless.
    const second: Page = { name: "plain-http", decision: { decision: "confirm_plain_http", url: "http://y:8080/z" } };
    expect(nextAction(second, typedX, null, NOTHING_PLAYED).action).toBe("decline");
  });

  it("finishes when the connection ends: verified, or any error", () => {
    const failed: ErrorReport = { code: "policy_refused", message: "no", detail: null };
    expect(nextAction(redirect("http://127.0.0.1:4002"), script, failed, NOTHING_PLAYED).action).toBe("finish");
    expect(nextAction({ name: "verified" } as Page, script, null, NOTHING_PLAYED).action).toBe("finish");
    expect(nextAction({ name: "address" }, script, null, NOTHING_PLAYED).action).toBe("finish");
    expect(verdictTitle(true)).toMatch(/met/);
    expect(verdictTitle(false)).toMatch(/not met/);
  });
});

describe("a certificate question", () => {
  it("is declined, as headless: the scenario's own server is trusted up front", () => {
    const certificate = { subject: "CN=x", issuer: "CN=x", not_before: "", not_after: "", sha256: "AB" };
    const trust: Page = {
      name: "trust",
      decision: { decision: "trust_certificate", url: "https://127.0.0.1:4000/", certificate },
    };
    expect(nextAction(trust, script, null, NOTHING_PLAYED)).toEqual({ action: "decline" });
  });
});
