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
