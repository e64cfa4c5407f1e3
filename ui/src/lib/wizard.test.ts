import { describe, expect, it } from "vitest";
import type { DemoPerson } from "./bindings";
import type { LoginDecision } from "./flow";
import { show, startOver, wizard } from "./wizard.svelte";

const login = (login_hint: string | null = null): LoginDecision =>
  ({ decision: "needs_credentials", product: "ownCloud", server: "https://cloud.example.com/", login_hint }) as LoginDecision;

describe("the wizard store", () => {
  it("fills a new login form with the engine's hint, and keeps what was typed when the form comes back", () => {
    startOver();
    wizard.lastLogin = null;
    wizard.username = "";
    show({ name: "login", decision: login("alice@example.com") });
    expect(wizard.page.name).toBe("login");
    expect(wizard.username).toBe("alice@example.com");
    wizard.username = "bob";
    wizard.password = "typed";
    show({ name: "login", decision: login("alice@example.com") });
    expect([wizard.username, wizard.password]).toEqual(["bob", "typed"]);
  });

  it("fills in the demo person picked last", () => {
    startOver();
    wizard.lastLogin = null;
    wizard.username = "";
    wizard.demoPerson = { login: "test@instance1.com", display_name: "Test User One" } as DemoPerson;
    wizard.demo = { password: "secret" } as never;
    show({ name: "login", decision: login() });
    expect([wizard.username, wizard.password]).toEqual(["test@instance1.com", "secret"]);
    wizard.demo = null;
    wizard.demoPerson = null;
  });
});
