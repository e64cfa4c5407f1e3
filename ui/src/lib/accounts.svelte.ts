// The accounts Homeport keeps: saving the verified one (Done), the list, re-verify and remove.
// The state lives here; the accounts page, the error banner and the remove dialog show it.
import { tick } from "svelte";
import { commands } from "./bindings";
import type { Account, AccountEntry, ErrorReport, Revocation, Revoked } from "./bindings";
import { keyringRetry, needsNewLogin, secretName } from "./flow";
import { connect, events, show, wizard } from "./wizard.svelte";

class AccountsState {
  accounts: AccountEntry[] = $state([]);
  /** Why the keyring could not be asked about the listed accounts' secrets, if it could not. */
  keyringProblem: ErrorReport | null = $state(null);
  loaded = $state(false);
  /** The account whose re-verify needs a new login in the browser. */
  reloginFor: AccountEntry | null = $state(null);
  /** The account the remove dialog asks about. */
  removing: AccountEntry | null = $state(null);
  removeDialog: HTMLDialogElement | undefined = $state();
}

export const accounts = new AccountsState();

/** Done on the verified page: stores the account (its secret into the keyring), then lists them. */
export async function done() {
  wizard.error = null;
  wizard.notice = "";
  wizard.busy = "Saving the account…";
  const result = await commands.wizardSave();
  wizard.busy = null;
  if (result.status === "error") {
    wizard.error = result.error;
    return;
  }
  wizard.notice = `${result.data.display_name} is connected.`;
  await openAccounts(false);
}

export async function openAccounts(clearMessages = true) {
  if (clearMessages) {
    wizard.error = null;
    wizard.notice = "";
    accounts.reloginFor = null;
  }
  show({ name: "accounts" });
  const result = await commands.accountsList();
  accounts.loaded = true;
  if (result.status === "ok") {
    accounts.accounts = result.data.accounts;
    accounts.keyringProblem = result.data.keyring;
  } else {
    wizard.error = result.error;
  }
}

/** "Try again" after a keyring error: the same save (the verified account was kept), or the list. */
export async function retryKeyring() {
  const retry = keyringRetry(wizard.page, wizard.error);
  if (retry === "save") {
    await done();
  } else {
    wizard.error = null;
    await openAccounts(false);
  }
  if (wizard.error?.code === "keyring_unavailable" || accounts.keyringProblem) {
    await tick();
    document.getElementById("keyring-retry")?.focus();
  }
}

export function askRemove(entry: AccountEntry) {
  accounts.removing = entry;
  accounts.removeDialog?.showModal();
  document.getElementById("cancel-remove")?.focus();
}

export async function confirmRemove() {
  const entry = accounts.removing;
  accounts.removeDialog?.close();
  accounts.removing = null;
  if (!entry) return;
  const result = await commands.accountRemove(entry.account.id);
  if (result.status === "error") {
    wizard.error = result.error;
  } else {
    wizard.notice = removedWords(entry.account, result.data);
  }
  await openAccounts(false);
}

export async function verifyAccount(entry: AccountEntry) {
  wizard.error = null;
  wizard.notice = "";
  wizard.items = [];
  accounts.reloginFor = null;
  wizard.busy = `Verifying ${entry.account.display_name}…`;
  const result = await commands.accountVerify(entry.account.id, events());
  wizard.busy = null;
  if (result.status === "error") {
    wizard.error = result.error;
    if (needsNewLogin(result.error)) accounts.reloginFor = entry;
  } else {
    wizard.notice = `${entry.account.display_name} is verified.`;
  }
  await openAccounts(false);
  if (accounts.reloginFor) {
    await tick();
    document.getElementById("relogin")?.focus();
  }
}

/** Starts the wizard again with the address the account was added with. */
export async function logInAgain(entry: AccountEntry) {
  accounts.reloginFor = null;
  wizard.address = entry.account.entered_address;
  show({ name: "address" });
  await connect();
}

/** What removing an account did: the keyring's secret is gone; its own credential at the server
 *  (a Nextcloud app password, a Matrix device or OAuth login) was ended there too, or could not
 *  be (then it still works there until ended in the server's settings). */
export function removedWords(account: Account, revocation: Revocation | null): string {
  const removed = `Removed ${account.display_name}; its ${secretName(account)} is gone from the keyring.`;
  if (!revocation) return removed;
  const [ended, notEnded, settings] = revocationWords[revocation.what];
  if (revocation.outcome === "deleted") return `${removed} ${ended} at ${revocation.server}.`;
  return (
    `${removed} ${notEnded} at ${revocation.server} (${revocation.reason}): it still works there until you ` +
    `end it in ${settings}.`
  );
}

const revocationWords: Record<Revoked, [string, string, string]> = {
  app_password: [
    "The app password was deleted",
    "The app password could NOT be deleted",
    "that server's security settings (Devices & sessions)",
  ],
  matrix_device: [
    "Its device was logged out",
    "Its device could NOT be logged out",
    "a Matrix client's session settings",
  ],
  oauth_tokens: [
    "Its login was revoked and its device logged out",
    "Its login could NOT be revoked",
    "the server's account page",
  ],
  oidc_tokens: [
    "Its login was revoked at the identity provider",
    "Its login could NOT be revoked at the identity provider",
    "the identity provider's account page (sessions or applications)",
  ],
};

/** Opens the Matrix account's own page at its server (devices, password), in the browser. */
export async function manageAccount(entry: AccountEntry) {
  const result = await commands.accountManage(entry.account.id);
  wizard.notice = result.status === "error" ? result.error.message : `The account page of ${entry.account.display_name} is open in your browser.`;
}
