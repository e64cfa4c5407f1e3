import { describe, expect, it } from "vitest";
import type { ErrorReport } from "./bindings";
import { explain, whatHappened } from "./explain";
import { language } from "./i18n.svelte";
import { isProxyFailure } from "./flow";

describe("explain: proxies", () => {
  it("names a proxy failure as the proxy's, with the proxy's address", () => {
    const error: ErrorReport = {
      code: "unreachable",
      message: "the proxy http://127.0.0.1:3128 failed, so http://127.0.0.1:4000/status.php could not be reached: refused",
      detail: { url: "http://127.0.0.1:4000/status.php", proxy: "http://127.0.0.1:3128", reason: "proxy" },
      reason: "proxy",
    };
    const words = explain(error);
    expect(words.title).toBe("The proxy refused or did not answer");
    expect(words.hint).toContain("The proxy http://127.0.0.1:3128 refused");
    expect(words.hint).toContain("Proxy…");
    expect(words.hint).not.toContain("network connection");
    expect(isProxyFailure(error)).toBe(true);
  });

  it("keeps the server's words when no proxy is involved", () => {
    const error: ErrorReport = { code: "unreachable", message: "refused", detail: { url: "http://x/" } };
    expect(explain(error).title).toBe("The server could not be reached");
    expect(isProxyFailure(error)).toBe(false);
  });

  it("a proxy failure without the proxy's address still names the proxy", () => {
    const error: ErrorReport = { code: "unreachable", message: "x", detail: { reason: "proxy" }, reason: "proxy" };
    expect(explain(error).hint.startsWith("The proxy refused")).toBe(true);
  });
});

describe("explain: typed reasons", () => {
  it("words an error by its typed reason, whatever fields detail holds", () => {
    const typed = (code: ErrorReport["code"], reason: ErrorReport["reason"]): ErrorReport => ({
      code,
      message: "m",
      detail: null,
      reason,
    });
    expect(explain(typed("auth_failed", "rate_limited")).title).toBe("The server is busy");
    expect(explain(typed("auth_failed", "account_deactivated")).title, "not merely disabled").toBe(
      "The Matrix account is deactivated",
    );
    expect(explain(typed("auth_failed", "idp_refused")).title).toBe("The identity provider did not log you in");
    expect(explain(typed("auth_failed", "wrong_password")).title).toBe("The login did not work");
    expect(explain(typed("tls", "certificate_invalid")).title).toBe("The secure connection failed");
    expect(explain(typed("keyring_unavailable", undefined)).title).toBe("The system keyring is not available");
  });
});

describe("explain: the administrators' configuration", () => {
  it("names a broken file as the organisation's, not as a mistyped address", () => {
    const error: ErrorReport = {
      code: "bad_input",
      message: "/etc/homeport/config.toml:3:1: server.lok: unknown field `lok`",
      detail: { reason: "admin_config", file: "/etc/homeport/config.toml", line: 3, column: 1, key: "server.lok" },
      reason: "admin_config",
    };
    const words = explain(error);
    expect(words.title).toBe("Your organisation's configuration for Homeport is broken");
    expect(words.hint).toContain("connects nowhere until it is fixed");
    expect(explain({ code: "bad_input", message: "x", detail: null }).title).toBe("That address does not look right");
  });

  it("says the organisation decided a refusal, and that nothing was sent", () => {
    const error: ErrorReport = {
      code: "policy_refused",
      message: "Your organisation set this server (https://cloud.acme.example/); http://x/ cannot be used here",
      detail: { reason: "admin_config", key: "server.lock", file: "/etc/homeport/config.toml" },
      reason: "admin_config",
    };
    expect(explain(error)).toEqual({
      title: "Your organisation decided this",
      hint: "Nothing was sent. Ask your organisation's administrators if you need another server or setting.",
      specifics: null,
    });
  });
});

describe("error words in German", () => {
  const report = (code: ErrorReport["code"], reason: ErrorReport["reason"], detail: ErrorReport["detail"] = null) => ({
    code,
    reason,
    detail,
    message: "the engine's English words",
  });

  it("come from the catalogue by code and reason, never from the engine's English", () => {
    const cases: [ErrorReport["code"], ErrorReport["reason"]][] = [
      ["bad_input", undefined],
      ["bad_input", "admin_config"],
      ["bad_input", "client_certificate_password"],
      ["unreachable", undefined],
      ["unreachable", "proxy"],
      ["tls", "untrusted"],
      ["tls", "changed"],
      ["tls", "expired"],
      ["tls", "client_certificate_required"],
      ["auth_failed", "wrong_password"],
      ["auth_failed", "account_disabled"],
      ["auth_failed", "account_deactivated"],
      ["auth_failed", "matrix_refused"],
      ["server_not_ready", "maintenance"],
      ["policy_refused", "issuer_not_approved"],
      ["keyring_unavailable", "keyring_locked"],
      ["protocol", "homeserver_unusable"],
      ["cancelled", undefined],
      ["internal", undefined],
    ];
    try {
      for (const [code, reason] of cases) {
        language.locale = "en";
        const english = explain(report(code, reason));
        language.locale = "de";
        const german = explain(report(code, reason));
        expect(german.title, `${code}/${reason}`).not.toBe(english.title);
        expect(german.hint, `${code}/${reason}`).not.toBe(english.hint);
        expect(german.title + german.hint, `${code}/${reason}`).not.toContain("engine's English");
      }
    } finally {
      language.locale = "en";
    }
  });

  it("fill what happened from the detail: the server and the user, in German", () => {
    try {
      language.locale = "de";
      const wrong = report("auth_failed", "wrong_password", {
        origin: "https://cloud.example.com",
        user: "alice",
        at: "instance",
        reason: "wrong_password",
      });
      expect(explain(wrong).specifics).toBe(
        "https://cloud.example.com hat den Benutzernamen oder das Passwort für alice nicht angenommen.",
      );
      expect(whatHappened(wrong), "the catalogue's sentence, not the engine's").toBe(explain(wrong).specifics);
      const timeout = report("unreachable", undefined, { url: "https://slow.example.com/", timeout_seconds: 1 });
      expect(explain(timeout).specifics, "its plural").toBe(
        "https://slow.example.com/ hat nicht innerhalb von 1 Sekunde geantwortet.",
      );
      expect(explain(report("internal", undefined)).specifics, "nothing to fill in: the engine's words").toBeNull();
      language.locale = "en";
      expect(whatHappened(wrong), "in English too the catalogue's sentence, by code and reason").toBe(
        "https://cloud.example.com did not accept the user name or password for alice.",
      );
      expect(whatHappened(report("internal", undefined)), "no sentence: the engine's words").toBe(
        "the engine's English words",
      );
    } finally {
      language.locale = "en";
    }
  });
});
