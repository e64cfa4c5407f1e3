// The manual proxy ("Proxy…" on the address page): the form's state, read from and saved to the
// shell (which keeps the password in the keyring).
import { tick } from "svelte";
import { commands } from "./bindings";
import type { ErrorReport, ProxySetting, SystemProxy } from "./bindings";
import type { Words } from "./flow";
import { wizard } from "./wizard.svelte";
import { m } from "../paraglide/messages.js";

class ProxyState {
  /** The saved manual proxy; null until read. */
  saved: ProxySetting | null = $state(null);
  open = $state(false);
  manual = $state(false);
  url = $state("");
  user = $state("");
  password = $state("");
  showPassword = $state(false);
  /** What went wrong: the shell's error, or the form's own check (no address typed). */
  problem: ErrorReport | "missing_url" | null = $state(null);
  status: Words | null = $state(null);
  /** What "the system's proxy settings" are now (environment, GNOME's, a PAC file); null until read. */
  system: SystemProxy | null = $state(null);
}

export const proxy = new ProxyState();

/** Fills the proxy form from the saved setting. */
function showProxySetting(saved: ProxySetting) {
  proxy.saved = saved;
  proxy.manual = saved.url !== null;
  proxy.url = saved.url ?? "";
  proxy.user = saved.user ?? "";
  proxy.password = "";
}

export async function loadProxy() {
  const system = await commands.proxySystem();
  if (system.status === "ok") proxy.system = system.data;
  const result = await commands.proxyGet();
  if (result.status === "ok") showProxySetting(result.data);
  else proxy.problem = result.error;
}

export async function toggleProxy() {
  proxy.open = !proxy.open;
  proxy.status = null;
  proxy.problem = null;
  if (proxy.open) {
    if (proxy.saved) showProxySetting(proxy.saved);
    await tick();
    document.getElementById(proxy.manual ? "proxy-url" : "proxy-none")?.focus();
  }
}

/** "Proxy settings…" in a proxy failure's error: the address page with the settings open. */
export async function openProxySettings() {
  if (wizard.page.name !== "address") wizard.page = { name: "address" };
  if (!proxy.open) {
    proxy.open = true;
    proxy.status = null;
    proxy.problem = null;
    if (proxy.saved) showProxySetting(proxy.saved);
  }
  await tick();
  document.getElementById(proxy.manual ? "proxy-url" : "proxy-none")?.focus();
}

export async function saveProxy(event?: SubmitEvent) {
  event?.preventDefault();
  proxy.problem = null;
  proxy.status = null;
  const url = proxy.manual ? proxy.url.trim() : "";
  if (proxy.manual && url === "") {
    proxy.problem = "missing_url";
    document.getElementById("proxy-url")?.focus();
    return;
  }
  const result = await commands.proxySet({
    url: url === "" ? null : url,
    user: proxy.manual && proxy.user.trim() !== "" ? proxy.user.trim() : null,
    // Empty: keep the password the keyring holds.
    password: proxy.manual && proxy.password !== "" ? proxy.password : null,
  });
  if (result.status === "error") {
    proxy.problem = result.error;
    return;
  }
  showProxySetting(result.data);
  proxy.open = false;
  const saved = result.data.url;
  proxy.status = saved ? () => m.proxy_saved({ url: saved }) : () => m.proxy_saved_none();
  await tick();
  document.getElementById("proxy-toggle")?.focus();
}
