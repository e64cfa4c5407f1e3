// The catalogue is complete: every language has exactly the English keys, each message with the
// same placeholders and, for a count, the plural forms its language needs (Intl.PluralRules).
// docs/translating.md says how to add a language; this test is what tells you what is missing.
import { describe, expect, it } from "vitest";
import de from "../../messages/de.json";
import en from "../../messages/en.json";
import settings from "../../project.inlang/settings.json";
import { m } from "../paraglide/messages.js";

type Variant = { declarations: string[]; selectors: string[]; match: { [key: string]: string } };
type Message = string | Variant[];
type Catalogue = { [key: string]: Message };

const catalogues: { [locale: string]: Catalogue } = { en: en as Catalogue, de: de as Catalogue };

function keys(catalogue: Catalogue): string[] {
  return Object.keys(catalogue).filter((key) => key !== "$schema");
}

/** The `{placeholders}` a message uses, in all its variants, sorted. */
function placeholders(message: Message): string[] {
  const texts = typeof message === "string" ? [message] : message.flatMap((variant) => Object.values(variant.match));
  const names = new Set(texts.flatMap((text) => [...text.matchAll(/\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}/g)].map((hit) => hit[1])));
  if (typeof message !== "string") {
    for (const variant of message) {
      for (const declaration of variant.declarations) {
        const input = /^input\s+(\w+)$/.exec(declaration.trim());
        if (input) names.add(input[1]);
      }
    }
  }
  return [...names].sort();
}

/** The plural categories a message's variants cover (empty for a plain message). */
function categories(message: Message): string[] {
  if (typeof message === "string") return [];
  return message.flatMap((variant) => Object.keys(variant.match).map((key) => key.split("=")[1])).sort();
}

function problems(reference: Catalogue, other: Catalogue, locale: string): string[] {
  const found: string[] = [];
  for (const key of keys(reference)) {
    if (!(key in other)) found.push(`${locale} lacks "${key}"`);
  }
  for (const key of keys(other)) {
    if (!(key in reference)) found.push(`${locale} has "${key}", which English does not (a left-over?)`);
  }
  for (const key of keys(reference).filter((key) => key in other)) {
    const want = placeholders(reference[key]).join(", ");
    const got = placeholders(other[key]).join(", ");
    if (want !== got) found.push(`${locale} "${key}" uses {${got}}, English {${want}}`);
    if (typeof other[key] === "string" && typeof other[key] !== typeof reference[key]) {
      found.push(`${locale} "${key}" is one text, English has plural forms`);
    }
    if (typeof other[key] !== "string") {
      const needed = new Intl.PluralRules(locale).resolvedOptions().pluralCategories.slice().sort();
      const covered = categories(other[key]);
      const missing = needed.filter((category) => !covered.includes(category));
      if (missing.length > 0) found.push(`${locale} "${key}" lacks the plural forms ${missing.join(", ")}`);
    }
    if (typeof other[key] === "string" && (other[key] as string).trim() === "") found.push(`${locale} "${key}" is empty`);
  }
  return found;
}

describe("the message catalogue", () => {
  it("names every language the project builds", () => {
    expect(Object.keys(catalogues).sort()).toEqual([...settings.locales].sort());
  });

  for (const locale of settings.locales.filter((locale) => locale !== settings.baseLocale)) {
    it(`${locale} has every English message, no other, with the same placeholders and its plural forms`, () => {
      expect(problems(catalogues.en, catalogues[locale], locale)).toEqual([]);
    });
  }

  it("English itself has its plural forms", () => {
    expect(problems(catalogues.en, catalogues.en, "en")).toEqual([]);
  });

  it("finds a missing key, an extra key, a changed placeholder and a missing plural form", () => {
    const english: Catalogue = {
      hello: "Hello {name}",
      bye: "Bye",
      items: [{ declarations: ["input count"], selectors: ["countPlural"], match: { "countPlural=one": "{count} item", "countPlural=other": "{count} items" } }],
    };
    const broken: Catalogue = {
      hello: "Hallo {nam}",
      extra: "Extra",
      items: [{ declarations: ["input count"], selectors: ["countPlural"], match: { "countPlural=other": "{count} Dinge" } }],
    };
    expect(problems(english, broken, "de")).toEqual([
      'de lacks "bye"',
      'de has "extra", which English does not (a left-over?)',
      'de "hello" uses {nam}, English {name}',
      'de "items" lacks the plural forms one',
    ]);
  });

  it("counts by the language's plural rules", () => {
    expect(m.trace_round_trips({ count: 1 }, { locale: "en" })).toBe("1 round trip");
    expect(m.trace_round_trips({ count: 2 }, { locale: "en" })).toBe("2 round trips");
    expect(m.trace_round_trips({ count: 1 }, { locale: "de" })).toBe("1 Runde");
    expect(m.trace_round_trips({ count: 0 }, { locale: "de" })).toBe("0 Runden");
  });
});
