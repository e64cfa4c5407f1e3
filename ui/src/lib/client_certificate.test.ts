import { describe, expect, it } from "vitest";
import type { ErrorReport, WizardOutcome } from "./bindings";
import { explain } from "./explain";
import { certificatePath, pageAfterError, pageForOutcome } from "./flow";
import type { ClientCertificateDecision, Page } from "./flow";

const decision: ClientCertificateDecision = {
  decision: "client_certificate",
  url: "https://127.0.0.1:8443/status.php",
  server: "127.0.0.1:8443",
  issuers: ["CN=Homeport Test CA"],
};
const page: Page = { name: "client-certificate", decision };
const report = (code: ErrorReport["code"], reason: NonNullable<ErrorReport["reason"]>): ErrorReport => ({
  code,
  message: "m",
  detail: { reason },
  reason,
});

describe("a server asking for a client certificate", () => {
  it("is a page of its own", () => {
    const outcome: WizardOutcome = { outcome: "decide", decision };
    expect(pageForOutcome(outcome)).toEqual(page);
  });

  it("stays on the page after a wrong password or an unusable file, and leaves on anything else", () => {
    expect(pageAfterError(page, report("bad_input", "client_certificate_password"), null, "a")).toBe(page);
    expect(pageAfterError(page, report("bad_input", "client_certificate_file"), null, "a")).toBe(page);
    expect(pageAfterError({ name: "address" }, report("bad_input", "client_certificate_file"), null, "a")).toEqual({
      name: "address",
    });
    expect(pageAfterError(page, report("tls", "client_certificate_refused"), null, "a")).toEqual({ name: "address" });
  });

  it("has words for declining, a refused certificate and a wrong password", () => {
    expect(explain(report("tls", "client_certificate_required")).title).toMatch(/asks for a client certificate/);
    expect(explain(report("tls", "client_certificate_refused")).title).toMatch(/did not accept your certificate/);
    expect(explain(report("bad_input", "client_certificate_password")).title).toMatch(/password does not open/);
  });

  it("takes a pasted file URI as its path", () => {
    expect(certificatePath("  /home/alice/alice.p12 ")).toBe("/home/alice/alice.p12");
    expect(certificatePath("file:///home/alice/My%20Certs/alice.p12")).toBe("/home/alice/My Certs/alice.p12");
  });
});
