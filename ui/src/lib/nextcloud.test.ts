// Nextcloud's Login Flow v2 and Global Scale in the UI's words: branched on the engine's typed
// fields (protocol, resends, auth_method), never on text.
import { describe, expect, it } from "vitest";
import type { Account, Decision } from "./bindings";
import { isNextcloudFlow, resentWords, secretName } from "./flow";
import type { BrowserDecision, RedirectDecision } from "./flow";

const flow: BrowserDecision = {
  decision: "open_browser",
  url: "https://gss.example.org/index.php/login/v2/flow/abc",
  issuer: "https://gss.example.org/",
  server: "https://gss.example.org/",
  issuer_elsewhere: false,
  protocol: "nextcloud",
};

describe("Nextcloud", () => {
  it("tells its Login Flow v2 from an OpenID Connect login", () => {
    expect(isNextcloudFlow(flow)).toBe(true);
    expect(isNextcloudFlow({ ...flow, protocol: "oidc" })).toBe(false);
  });

  it("names the app password the grant's node gets, and the one the keyring keeps", () => {
    const node: RedirectDecision = {
      decision: "confirm_redirect",
      from: "https://gss.example.org",
      to: "https://node1.example.org",
      location: "https://node1.example.org",
      status: 200,
      permanent: false,
      resends: "app_password",
      protocol: "nextcloud",
    } as Extract<Decision, { decision: "confirm_redirect" }>;
    expect(resentWords(node)).toBe("the app password the server handed out");
    expect(resentWords({ ...node, resends: "password" })).toBe("your password");
    const account = { auth_method: "app_password", kind: "nextcloud" } as unknown as Account;
    expect(secretName(account)).toBe("app password");
  });
});

describe("removing a Nextcloud account", () => {
  const account = { display_name: "Bob", auth_method: "app_password", kind: "nextcloud" } as unknown as Account;
  it("says the app password was deleted at the node, or loudly that it was not", async () => {
    const { removedWords } = await import("./accounts.svelte");
    expect(removedWords(account, null)).toBe("Removed Bob; its app password is gone from the keyring.");
    expect(removedWords(account, { outcome: "deleted", server: "https://node2", what: "app_password" })).toContain(
      "The app password was deleted at https://node2.",
    );
    const failed = removedWords(account, {
      outcome: "failed",
      server: "https://node2",
      what: "app_password",
      reason: "unreachable",
    });
    expect(failed).toContain("could NOT be deleted at https://node2 (unreachable)");
    expect(failed).toContain("security settings");
  });

  it("says a Matrix login was logged out or revoked at its homeserver", async () => {
    const { removedWords } = await import("./accounts.svelte");
    const matrix = { display_name: "Einstein", auth_method: "matrix_oauth", kind: "matrix" } as unknown as Account;
    const revoked = removedWords(matrix, { outcome: "deleted", server: "https://hs", what: "oauth_tokens" });
    expect(revoked).toContain("Its login was revoked and its device logged out at https://hs.");
    const device = removedWords(matrix, { outcome: "failed", server: "https://hs", what: "matrix_device", reason: "401" });
    expect(device).toContain("Its device could NOT be logged out at https://hs (401)");
  });

  it("says an OpenID Connect login was revoked at its identity provider, or could not be", async () => {
    const { removedWords } = await import("./accounts.svelte");
    const ocis = { display_name: "Einstein", auth_method: "oidc", kind: "ocis" } as unknown as Account;
    const revoked = removedWords(ocis, { outcome: "deleted", server: "https://idp", what: "oidc_tokens" });
    expect(revoked).toContain("Its login was revoked at the identity provider at https://idp.");
    const failed = removedWords(ocis, { outcome: "failed", server: "https://idp", what: "oidc_tokens", reason: "unreachable" });
    expect(failed).toContain("could NOT be revoked at the identity provider at https://idp (unreachable)");
    expect(failed).toContain("the identity provider's account page");
  });
});
