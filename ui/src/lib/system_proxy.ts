// "The system's proxy settings" on the proxy page, in the window's language: from the engine's
// typed source (environment variables, GNOME's settings, none), never from its English words.
import type { SchemeProxy, SystemProxy } from "./bindings";
import { listWords } from "./i18n.svelte";
import { m } from "../paraglide/messages.js";

function schemeProxy(proxy: SchemeProxy): string {
  switch (proxy.scheme) {
    case "http":
      return m.proxy_system_via_http({ url: proxy.url });
    case "https":
      return m.proxy_system_via_https({ url: proxy.url });
    case "others":
      return m.proxy_system_via_others({ url: proxy.url });
  }
}

export function systemProxyWords(system: SystemProxy): string {
  switch (system.source) {
    case "environment":
      return m.proxy_system_environment({ variables: listWords(system.variables) });
    case "gnome_none":
      return m.proxy_system_gnome_none();
    case "gnome_pac":
      return system.url === null ? m.proxy_system_gnome_wpad() : m.proxy_system_gnome_pac({ url: system.url });
    case "gnome_manual": {
      if (system.proxies.length === 0) return m.proxy_system_gnome_manual_no_host();
      const proxies = listWords(system.proxies.map(schemeProxy));
      return system.ignore_hosts.length === 0
        ? m.proxy_system_gnome_manual({ proxies })
        : m.proxy_system_gnome_manual_except({ proxies, hosts: listWords(system.ignore_hosts) });
    }
    case "none":
      return m.proxy_system_none();
  }
}
