// The accounts Homeport keeps: saving the verified one (Done), the list, re-verify and remove.
// The state lives here; the accounts page, the error banner and the remove dialog show it.
import { tick } from "svelte";
import { commands } from "./bindings";
import type { Account, AccountEntry, ErrorReport, Revocation, Revoked } from "./bindings";
import { keyringRetry, needsNewLogin, secretName } from "./flow";
import type { Words } from "./flow";
import { m } from "../paraglide/messages.js";
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
  wizard.notice = null;
  wizard.busy = () => m.busy_saving();
  const result = await commands.wizardSave();
  wizard.busy = null;
  if (result.status === "error") {
    wizard.error = result.error;
    return;
  }
  const name = result.data.display_name;
  wizard.notice = () => m.notice_connected({ name });
  await openAccounts(false);
}

export async function openAccounts(clearMessages = true) {
  if (clearMessages) {
    wizard.error = null;
    wizard.notice = null;
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
    const revocation = result.data;
    wizard.notice = () => removedWords(entry.account, revocation);
  }
  await openAccounts(false);
}

export async function verifyAccount(entry: AccountEntry) {
  wizard.error = null;
  wizard.notice = null;
  wizard.items = [];
  accounts.reloginFor = null;
  wizard.busy = () => m.busy_verifying_account({ name: entry.account.display_name });
  const result = await commands.accountVerify(entry.account.id, events());
  wizard.busy = null;
  if (result.status === "error") {
    wizard.error = result.error;
    if (needsNewLogin(result.error)) accounts.reloginFor = entry;
  } else {
    wizard.notice = () => m.notice_verified({ name: entry.account.display_name });
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
  const removed = m.removed({ name: account.display_name, secret: secretName(account) });
  if (!revocation) return removed;
  const [ended, notEnded, settings] = revocationWords[revocation.what];
  if (revocation.outcome === "deleted") return m.removed_ended({ removed, ended: ended(), server: revocation.server });
  return m.removed_not_ended({
    removed,
    notEnded: notEnded(),
    server: revocation.server,
    // The server's own words for why (a status, its error), as it gave them.
    reason: revocation.reason,
    settings: settings(),
  });
}

const revocationWords: Record<Revoked, [Words, Words, Words]> = {
  app_password: [m.revoked_app_password, m.revoked_app_password_failed, m.revoked_app_password_settings],
  matrix_device: [m.revoked_matrix_device, m.revoked_matrix_device_failed, m.revoked_matrix_device_settings],
  oauth_tokens: [m.revoked_oauth, m.revoked_oauth_failed, m.revoked_oauth_settings],
  oidc_tokens: [m.revoked_oidc, m.revoked_oidc_failed, m.revoked_oidc_settings],
};

/** Opens the Matrix account's own page at its server (devices, password), in the browser. */
export async function manageAccount(entry: AccountEntry) {
  const result = await commands.accountManage(entry.account.id);
  if (result.status === "error") {
    wizard.error = result.error;
    return;
  }
  wizard.notice = () => m.notice_manage_open({ name: entry.account.display_name });
}
