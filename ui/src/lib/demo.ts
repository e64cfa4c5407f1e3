// The demo (`--demo`, "Try the demo"): the embedded lookup server's systems and people. Picking a
// person fills in the address (and later the login form) and connects, as typing them would.
import { commands } from "./bindings";
import type {
  DemoMatrixOAuthPerson,
  DemoMatrixPerson,
  DemoNextcloudPerson,
  DemoOidcPerson,
  DemoPerson,
  DemoTenant,
} from "./bindings";
import { isMatrixOAuth, isMatrixSso, isNextcloudFlow } from "./flow";
import type { BrowserDecision } from "./flow";
import { connect, show, wizard } from "./wizard.svelte";
import { m } from "../paraglide/messages.js";

export async function tryDemo() {
  wizard.error = null;
  wizard.busy = () => m.busy_demo();
  const result = await commands.demoStart();
  wizard.busy = null;
  if (result.status === "error") {
    wizard.error = result.error;
    return;
  }
  wizard.demo = result.data;
  wizard.address = result.data.central_url;
  wizard.addressHint = null;
  show({ name: "address" });
}

export async function stopDemo() {
  await commands.demoStop();
  wizard.demo = null;
  wizard.demoPerson = null;
  wizard.demoOidcPerson = null;
  wizard.demoNextcloudPerson = null;
  wizard.demoMatrixPerson = null;
  wizard.demoMatrixOAuthPerson = null;
  const address = wizard.address;
  if (/^https?:\/\/127\.0\.0\.1:/.test(address) || address.includes(".localhost:")) wizard.address = "";
  show({ name: "address" });
}

/** Fills in a demo system's address and connects. */
function useDemoAddress(url: string) {
  wizard.demoPerson = null;
  wizard.demoMatrixPerson = null;
  wizard.demoMatrixOAuthPerson = null;
  wizard.address = url;
  void connect();
}

/** Connects a Matrix demo person through the portal at `portalIndex` (its address for that portal). */
export function chooseDemoMatrixPerson(person: DemoMatrixPerson, portalIndex: number) {
  const typed = person.addresses[portalIndex];
  if (!typed) return;
  useDemoAddress(typed);
  wizard.demoMatrixPerson = person;
}

/** Connects a person of the OAuth-only homeserver: the Matrix ID alone; the login is in the browser. */
export function chooseDemoMatrixOAuthPerson(person: DemoMatrixOAuthPerson) {
  useDemoAddress(person.user_id);
  wizard.demoMatrixOAuthPerson = person;
}

/** On the Matrix login form: fill in a demo person. */
export function fillDemoMatrixPerson(person: DemoMatrixPerson) {
  wizard.demoMatrixPerson = person;
  wizard.username = person.localpart;
  wizard.password = person.password;
  document.getElementById("login")?.focus();
}

/** Who to log in as on the browser's login page, in the demo. */
export function browserDemoPerson(decision: BrowserDecision): { login: string; password: string } | null {
  const demo = wizard.demo;
  if (!demo) return null;
  if (isMatrixOAuth(decision)) {
    const person = wizard.demoMatrixOAuthPerson ?? demo.matrix.oauth.people[0];
    return person ? { login: person.login, password: person.password } : null;
  }
  if (isMatrixSso(decision)) {
    const person =
      wizard.demoMatrixPerson ??
      demo.matrix.people.find((p) => p.localpart === wizard.username.trim()) ??
      demo.matrix.people[0];
    return person ? { login: person.localpart, password: person.password } : null;
  }
  if (isNextcloudFlow(decision)) {
    const person = wizard.demoNextcloudPerson ?? demo.nextcloud.people[0];
    return person ? { login: person.login, password: person.password } : null;
  }
  return wizard.demoOidcPerson;
}

/** Connects at the Nextcloud Global Site Selector; the person logs in on its page in the browser. */
export function chooseDemoNextcloudPerson(person: DemoNextcloudPerson) {
  if (!wizard.demo) return;
  wizard.demoNextcloudPerson = person;
  useDemoAddress(wizard.demo.nextcloud.gss_url);
}

export const portalModeName = (mode: string) => (mode === "proxy" ? m.demo_proxy_portal() : m.demo_307_portal());

export function chooseDemoOidcPerson(person: DemoOidcPerson) {
  if (!wizard.demo) return;
  wizard.demoOidcPerson = person;
  useDemoAddress(wizard.demo.ocis_url);
}

export function chooseDemoTenant(tenant: DemoTenant) {
  wizard.demoOidcPerson ??= wizard.demo?.oidc_people.find((person) => !person.disabled) ?? null;
  useDemoAddress(tenant.url);
}

/** Connects an ownCloud demo person at the demo's https server (its certificate is self-signed). */
export function chooseDemoSelfSigned(person: DemoPerson) {
  if (!wizard.demo) return;
  useDemoAddress(wizard.demo.self_signed.central_url);
  wizard.demoPerson = person;
}

export function chooseDemoPerson(person: DemoPerson) {
  wizard.demoPerson = person;
  if (wizard.page.name === "login") {
    wizard.username = person.login;
    wizard.password = wizard.demo?.password ?? "";
    document.getElementById("login")?.focus();
  } else if (wizard.demo) {
    wizard.address = wizard.demo.central_url;
    void connect();
  }
}
