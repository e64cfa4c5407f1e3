import { afterEach, describe, expect, it } from "vitest";
import { stepDetail } from "./steps";
import { language } from "./i18n.svelte";

afterEach(() => {
  language.locale = "en";
});

describe("a step's detail", () => {
  it("is the catalogue's sentence for the engine's typed kind, with its server and user", () => {
    const about = { kind: "logging_in_at_as", server: "https://matrix.example/", user: "alice" } as const;
    // The engine's own English (StepAbout::text) reads the same: the CLI and the window agree.
    expect(stepDetail(about)).toBe("logging in at https://matrix.example/ as alice");
    language.locale = "de";
    expect(stepDetail(about)).toBe("Anmeldung bei https://matrix.example/ als alice");
  });

  it("counts the minutes of Nextcloud's login link by the language's plural rules", () => {
    language.locale = "de";
    expect(stepDetail({ kind: "login_flow_waiting", minutes_left: 1 })).toContain("noch 1 Minute");
    expect(stepDetail({ kind: "login_flow_waiting", minutes_left: 19 })).toContain("noch 19 Minuten");
    language.locale = "en";
    expect(stepDetail({ kind: "login_flow_waiting", minutes_left: 1 })).toMatch(/1 more minute$/);
  });
});
