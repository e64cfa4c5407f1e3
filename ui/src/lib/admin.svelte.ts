// The administrators' configuration as the pages show it (docs/administrators.md): read once at
// start from app_info. The shell enforces every key too; the pages only say so first.
import type { AdminView } from "./bindings";
import { m } from "../paraglide/messages.js";

class AdminState {
  /** Null until app_info answered (then: the defaults when there is no file). */
  view: AdminView | null = $state(null);
  /** The organisation's logo as a data: URL. */
  logo: string | null = $state(null);
}

export const admin = new AdminState();

/** The product's name: the organisation's, else Homeport. */
export function productName(view: AdminView | null): string {
  return view?.product_name ?? "Homeport";
}

/** The organisation's preset proxy in the window's language: its URL, or the system's settings. */
export function presetProxy(view: AdminView): string {
  return view.proxy_url ?? m.admin_proxy_system();
}
