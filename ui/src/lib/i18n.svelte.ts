// The language the window speaks (docs/desktop.md#languages, docs/translating.md). The words are
// Paraglide JS messages (ui/messages/*.json, compiled to src/paraglide/ with checked names and
// placeholders); this module owns which language they come in. Its `locale` is a rune that every
// message reads (Paraglide's getLocale is routed here), so a change of language redraws every
// word in place — no restart, nothing typed is lost.
import { baseLocale, isLocale, locales, overwriteGetLocale } from "../paraglide/runtime.js";
import type { Locale } from "../paraglide/runtime.js";

export type { Locale };
/** The person's choice in the header: the system's language, or one named. */
export type LanguageSetting = "system" | Locale;

class LanguageState {
  /** The language every message is in now. */
  locale: Locale = $state(baseLocale);
  /** What the person chose ("system": the shell's LC_ALL/LC_MESSAGES/LANG, src-tauri/src/locale.rs). */
  setting: LanguageSetting = $state("system");
  /** The system's language, as the shell read it at start. */
  system: Locale = $state(baseLocale);
}

export const language = new LanguageState();

overwriteGetLocale(() => language.locale);

export const LOCALES: readonly Locale[] = locales;

/** A language word from the shell (or a saved setting) as a supported locale; English otherwise. */
export function supported(tag: string | null | undefined): Locale {
  const primary = (tag ?? "").trim().toLowerCase().split(/[-_.@]/)[0];
  return isLocale(primary) ? primary : baseLocale;
}

/** Applies the system's language and the person's setting; `<html lang>` follows. */
export function applyLanguage(system: string | null | undefined, setting: LanguageSetting) {
  language.system = supported(system);
  language.setting = setting === "system" || isLocale(setting) ? setting : "system";
  language.locale = language.setting === "system" ? language.system : language.setting;
  if (typeof document !== "undefined") document.documentElement.lang = language.locale;
}

/** A number in the window's language (1.234 in German, 1,234 in English). */
export function formatNumber(value: number): string {
  return new Intl.NumberFormat(language.locale).format(value);
}

/** Names joined as the window's language joins them ("a and b", "a, b und c"). */
export function listWords(items: string[]): string {
  return new Intl.ListFormat(language.locale, { type: "conjunction" }).format(items);
}

/** A moment (Unix seconds) as date and time in the window's language. */
export function formatDateTime(unixSeconds: number): string {
  return new Intl.DateTimeFormat(language.locale, { dateStyle: "medium", timeStyle: "short" }).format(
    new Date(unixSeconds * 1000),
  );
}

/** A moment (Unix seconds) as a time of day in the window's language. */
export function formatTimeOfDay(unixSeconds: number): string {
  return new Intl.DateTimeFormat(language.locale, { timeStyle: "short" }).format(new Date(unixSeconds * 1000));
}

// A sentence whose parts are marked up (a server in monospace, a name in bold) is one message with
// placeholders, so a translation may put them anywhere: the placeholders get markers that
// components/Slotted.svelte replaces by the markup.
const OPEN = "\uE000";
const CLOSE = "\uE001";

/** The marker of placeholder `name`, to pass to a message that Slotted.svelte renders. */
export function slot(name: string): string {
  return `${OPEN}${name}${CLOSE}`;
}

export type Piece = { text: string; slot?: undefined } | { slot: string; text?: undefined };

/** A message rendered with `slot` markers, split into its text and its marked-up parts. */
export function pieces(text: string): Piece[] {
  const found: Piece[] = [];
  const marker = new RegExp(`${OPEN}(\\w+)${CLOSE}`, "g");
  let at = 0;
  for (const hit of text.matchAll(marker)) {
    if (hit.index > at) found.push({ text: text.slice(at, hit.index) });
    found.push({ slot: hit[1] });
    at = hit.index + hit[0].length;
  }
  if (at < text.length) found.push({ text: text.slice(at) });
  return found;
}
