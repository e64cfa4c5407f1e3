// The autopilot (`--script FILE`) plays a scenario in the window: it types and presses on the
// pages as a person would, with the choices lib/autopilot.ts makes, then asks the shell for the
// verdict. Stop (or Escape) hands the window over to the person.
import { tick } from "svelte";
import { commands } from "./bindings";
import type { AutopilotScript, AutopilotVerdict } from "./bindings";
import { nextAction, NOTHING_PLAYED } from "./autopilot";
import type { Played } from "./autopilot";
import { m } from "../paraglide/messages.js";
import {
  allowPlainHttp,
  approveRedirect,
  chooseInstance,
  connect,
  continueAsLoggedInUser,
  continueInBrowser,
  decline,
  logIn,
  show,
  useBrowserLogin,
  wizard,
} from "./wizard.svelte";

class PlayerState {
  /** The scenario the autopilot plays, its state and, at the end, its verdict. */
  script: AutopilotScript | null = $state(null);
  autopilot: "running" | "stopped" | "done" | null = $state(null);
  verdict: AutopilotVerdict | null = $state(null);
}

export const player = new PlayerState();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** A visible pause before each answer, as a person reading the page would take. */
const pause = () => sleep(400 + Math.random() * 300);
const TYPING_MS = 35;
const playing = () => player.autopilot === "running";

export function stopAutopilot() {
  if (player.autopilot !== "running") return;
  player.autopilot = "stopped";
  void commands.autopilotStop();
  wizard.notice = () => m.notice_autopilot_stopped();
}

/** Types `text` into the field `id` letter by letter; `set` stores what the field shows. */
async function typeInto(id: string, text: string, set: (value: string) => void) {
  document.getElementById(id)?.focus();
  set("");
  for (let end = 1; end <= text.length && playing(); end++) {
    set(text.slice(0, end));
    await sleep(TYPING_MS);
  }
}

/** Focuses and highlights the control `id`, waits a moment, then does what pressing it does. */
async function press(id: string, action: () => Promise<void>) {
  if (!playing()) return;
  const target = document.getElementById(id);
  target?.focus();
  target?.classList.add("autopilot-press");
  await sleep(250);
  target?.classList.remove("autopilot-press");
  if (!playing()) return;
  await action();
}

/** Each page's way of saying no, pressed when the script declines there. */
const DECLINE_BUTTONS: Partial<Record<string, string>> = {
  redirect: "decline-redirect",
  trust: "distrust",
  "plain-http": "decline-plain-http",
  browser: "browser-cancel",
  "confirm-user": "confirm-user-start-over",
  "choose-instance": "choose-cancel",
};

/** Plays the script through the pages, then asks the shell for the verdict. */
export async function playScript(loaded: AutopilotScript) {
  player.script = loaded;
  player.autopilot = "running";
  player.verdict = null;
  let played: Played = { ...NOTHING_PLAYED };
  show({ name: "address" });
  await pause();
  await typeInto("address", loaded.address, (value) => (wizard.address = value));
  if (!playing()) return;
  await pause();
  await press("connect", () => connect());
  while (playing()) {
    const action = nextAction(wizard.page, loaded, wizard.error, played);
    if (action.action === "finish") break;
    await pause();
    if (!playing()) return;
    switch (action.action) {
      case "log-in":
        played = { ...played, loggedIn: true };
        await typeInto("username", action.user, (value) => (wizard.username = value));
        await typeInto("password", action.password, (value) => (wizard.password = value));
        await pause();
        await press("login", () => logIn());
        break;
      case "use-browser-login":
        played = { ...played, browserAsked: true };
        await press("use-sso", () => useBrowserLogin());
        break;
      case "approve-redirect":
        await press("approve-redirect", () => approveRedirect(action.origin));
        break;
      case "allow-plain-http":
        await press("allow-plain-http", () => allowPlainHttp());
        break;
      case "open-login-page":
        played = { ...played, browserOpened: true };
        await press("browser-opened", () => continueInBrowser());
        break;
      case "choose-instance": {
        played = { ...played, instanceChosen: true };
        const button = [...document.querySelectorAll<HTMLElement>(".choose-instance")].find(
          (element) => element.dataset.url === action.url,
        );
        if (button) button.id ||= "autopilot-instance";
        await press(button?.id ?? "", () => chooseInstance(action.url));
        break;
      }
      case "continue-as-logged-in-user":
        await press("confirm-user-continue", () => continueAsLoggedInUser());
        break;
      case "decline": {
        // The visible "Don't …" where the page has one; else the refusal the headless run gets.
        await press(DECLINE_BUTTONS[wizard.page.name] ?? "decline-plain-http", () => decline());
        break;
      }
    }
  }
  if (!playing()) return;
  const result = await commands.autopilotFinish();
  player.autopilot = "done";
  if (result.status === "ok") player.verdict = result.data;
  else wizard.error = result.error;
  await tick();
  document.getElementById("autopilot-verdict")?.focus();
}
