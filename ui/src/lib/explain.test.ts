import { describe, expect, it } from "vitest";
import type { ErrorReport } from "./bindings";
import { explain } from "./explain";
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
    expect(explain(typed("auth_failed", "idp_refused")).title).toBe("The identity provider did not log you in");
    expect(explain(typed("auth_failed", "wrong_password")).title).toBe("The login did not work");
    expect(explain(typed("tls", "certificate_invalid")).title).toBe("The secure connection failed");
    expect(explain(typed("keyring_unavailable", undefined)).title).toBe("The system keyring is not available");
  });
});
