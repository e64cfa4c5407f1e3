import { afterEach, describe, expect, it } from "vitest";
import type { SystemProxy } from "./bindings";
import { systemProxyWords } from "./system_proxy";
import { language } from "./i18n.svelte";

afterEach(() => {
  language.locale = "en";
});

describe("the system's proxy settings in words", () => {
  it("names the environment's variables, in the window's language", () => {
    const system: SystemProxy = { source: "environment", variables: ["HTTPS_PROXY", "http_proxy"] };
    expect(systemProxyWords(system)).toBe(
      "the environment's HTTPS_PROXY and http_proxy (servers on this computer excepted)",
    );
    language.locale = "de";
    expect(systemProxyWords(system)).toBe(
      "die Umgebungsvariablen HTTPS_PROXY und http_proxy (Server auf diesem Computer ausgenommen)",
    );
  });

  it("says GNOME's manual proxies by what they are for, and a PAC file as not evaluated", () => {
    language.locale = "de";
    const manual: SystemProxy = {
      source: "gnome_manual",
      proxies: [
        { scheme: "http", url: "http://proxy.example:3128" },
        { scheme: "others", url: "socks5h://socks.example:1080" },
      ],
      ignore_hosts: ["localhost"],
    };
    expect(systemProxyWords(manual)).toBe(
      "die Proxy-Einstellungen von GNOME: http über http://proxy.example:3128 und alles andere über socks5h://socks.example:1080; nicht für localhost",
    );
    expect(systemProxyWords({ source: "gnome_pac", url: null })).toContain("per WPAD gefunden");
    expect(systemProxyWords({ source: "none" })).toContain("kein Proxy");
  });
});

describe("the organisation's preset proxy", () => {
  it("is its URL, or the system's settings in the window's language (typed, not the engine's words)", async () => {
    const { presetProxy } = await import("./admin.svelte");
    const view = {
      source: "/etc/homeport/config.toml",
      product_name: null,
      address: null,
      address_locked: false,
      allowed: [],
      demo: true,
      proxy: "the system's proxy settings",
      proxy_url: null,
      proxy_locked: true,
      client_locked: false,
      decided_by_server: "",
      decided_by_proxy: "",
      decided_by_client: "",
    };
    language.locale = "de";
    expect(presetProxy(view)).toBe("die Proxy-Einstellungen des Systems");
    expect(presetProxy({ ...view, proxy: "http://proxy:3128", proxy_url: "http://proxy:3128" })).toBe(
      "http://proxy:3128",
    );
  });
});
