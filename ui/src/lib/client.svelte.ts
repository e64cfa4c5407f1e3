// "Advanced: identity provider client" on the address page: the OpenID Connect client to be for
// this connection, as an administrator's override (the ownCloud 7 client's ClientId,
// ClientSecret, Ports, Scopes, Prompt). Empty fields: Homeport chooses (the server product's known
// client, a registered one, its own). Kept for the window's life, never written anywhere; the
// secret goes to the shell as a Secret with the connection that uses it.
import { tick } from "svelte";
import type { ClientSetting, RedirectHost, TokenAuth } from "./bindings";

export type TokenAuthChoice = "automatic" | TokenAuth;

class ClientState {
  open = $state(false);
  clientId = $state("");
  clientSecret = $state("");
  showSecret = $state(false);
  tokenAuth: TokenAuthChoice = $state("automatic");
  scopes = $state("");
  prompt = $state("");
  redirectHost: RedirectHost = $state("127.0.0.1");
  /** As typed: random (or empty), a port, a range (8000-8010); the shell parses it. */
  redirectPort = $state("");
}

export const client = new ClientState();

export type ClientFields = Pick<
  ClientState,
  "clientId" | "clientSecret" | "tokenAuth" | "scopes" | "prompt" | "redirectHost" | "redirectPort"
>;

/** What the fields say, for `wizardStart`; null when every field is empty (Homeport chooses). */
export function clientSetting(fields: ClientFields): ClientSetting | null {
  const text = (value: string) => (value.trim() === "" ? null : value.trim());
  const setting: ClientSetting = {
    client_id: text(fields.clientId),
    client_secret: fields.clientSecret === "" ? null : fields.clientSecret,
    token_auth: fields.tokenAuth === "automatic" ? null : fields.tokenAuth,
    scopes: text(fields.scopes),
    prompt: text(fields.prompt),
    // 127.0.0.1 is what Homeport uses anyway: only the other host is a setting.
    redirect_host: fields.redirectHost === "127.0.0.1" ? null : fields.redirectHost,
    redirect_port: text(fields.redirectPort),
  };
  return Object.values(setting).every((value) => value === null) ? null : setting;
}

/** How many fields are set, for the toggle's summary ("2 set"). */
export function settingsCount(fields: ClientFields): number {
  const setting = clientSetting(fields);
  return setting === null ? 0 : Object.values(setting).filter((value) => value !== null).length;
}

export async function toggleClient() {
  client.open = !client.open;
  if (client.open) {
    await tick();
    document.getElementById("client-id")?.focus();
  }
}

/** Clears every field: Homeport chooses again. */
export async function resetClient() {
  client.clientId = "";
  client.clientSecret = "";
  client.tokenAuth = "automatic";
  client.scopes = "";
  client.prompt = "";
  client.redirectHost = "127.0.0.1";
  client.redirectPort = "";
  await tick();
  document.getElementById("client-id")?.focus();
}
