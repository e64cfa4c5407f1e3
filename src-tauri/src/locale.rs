//! The window's language (docs/desktop.md#languages): the system's, from the environment as glibc
//! and GTK read it — `LC_ALL`, else `LC_MESSAGES`, else `LANG`; an empty variable counts as unset —
//! mapped to a language the UI has (`de*` is German, anything else English), and the person's
//! choice (System, English, Deutsch), kept in `language.json` beside accounts.json as the window's
//! size is. The webview's `navigator.language` is not used: WebKitGTK does not follow `LANG`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use specta::Type;

/// A language the UI has a complete catalogue for (ui/messages/*.json).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    En,
    De,
}

/// The person's choice in the window's header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "lowercase")]
pub enum LanguageSetting {
    /// The system's language (the default).
    #[default]
    System,
    En,
    De,
}

/// What the UI needs at start: the system's language and the person's setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Type)]
pub struct LanguageInfo {
    pub system: Language,
    pub setting: LanguageSetting,
}

/// The locale that names the messages' language: the first of `LC_ALL`, `LC_MESSAGES`, `LANG`
/// that is set and not empty (glibc's order for the `LC_MESSAGES` category).
pub fn messages_locale(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    ["LC_ALL", "LC_MESSAGES", "LANG"].into_iter().filter_map(var).find(|value| !value.trim().is_empty())
}

/// `de_DE.UTF-8`, `de_AT@euro`, `de` → German; `C`, `POSIX`, `en_GB.UTF-8`, `fr_FR` → English (the
/// UI has no French: English, as the engine's words are).
pub fn language_of(locale: &str) -> Language {
    // language[_territory][.codeset][@modifier]
    let language = locale.trim().split(['_', '.', '@', '-']).next().unwrap_or_default();
    if language.eq_ignore_ascii_case("de") {
        Language::De
    } else {
        Language::En
    }
}

/// The system's language, from this process's environment.
pub fn system_language() -> Language {
    messages_locale(|name| std::env::var(name).ok()).map(|locale| language_of(&locale)).unwrap_or(Language::En)
}

fn file(config_dir: &Path) -> PathBuf {
    config_dir.join("language.json")
}

#[derive(Serialize, Deserialize)]
struct Saved {
    language: LanguageSetting,
}

/// The setting saved last; System when there is none (a broken file is ignored: it only held a
/// language).
pub fn remembered(config_dir: &Path) -> LanguageSetting {
    std::fs::read_to_string(file(config_dir))
        .ok()
        .and_then(|text| serde_json::from_str::<Saved>(&text).ok())
        .map(|saved| saved.language)
        .unwrap_or_default()
}

pub fn remember(config_dir: &Path, setting: LanguageSetting) -> std::io::Result<()> {
    std::fs::create_dir_all(config_dir)?;
    std::fs::write(file(config_dir), serde_json::to_string(&Saved { language: setting }).unwrap_or_default())
}

/// The system's language and the saved setting.
pub fn info(config_dir: Option<&Path>) -> LanguageInfo {
    LanguageInfo { system: system_language(), setting: config_dir.map(remembered).unwrap_or_default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(var, _)| *var == name).map(|(_, value)| (*value).to_owned())
    }

    #[test]
    fn lc_all_wins_then_lc_messages_then_lang_and_empty_ones_do_not_count() {
        let all = [("LC_ALL", "de_DE.UTF-8"), ("LC_MESSAGES", "en_US.UTF-8"), ("LANG", "en_GB.UTF-8")];
        assert_eq!(messages_locale(env(&all)).as_deref(), Some("de_DE.UTF-8"), "LC_ALL overrides every category");
        let messages = [("LC_ALL", ""), ("LC_MESSAGES", "de_AT.UTF-8"), ("LANG", "en_US.UTF-8")];
        assert_eq!(messages_locale(env(&messages)).as_deref(), Some("de_AT.UTF-8"), "an empty LC_ALL is unset");
        let lang = [("LANG", "de_CH.UTF-8")];
        assert_eq!(messages_locale(env(&lang)).as_deref(), Some("de_CH.UTF-8"));
        assert_eq!(messages_locale(env(&[("LANG", "  ")])), None, "blank is unset too");
        assert_eq!(messages_locale(env(&[])), None, "nothing set");
    }

    #[test]
    fn german_locales_are_german_and_everything_else_english() {
        for locale in ["de_DE.UTF-8", "de_AT", "de_CH.utf8", "de", "de_DE@euro", "DE_de.UTF-8", "de-DE"] {
            assert_eq!(language_of(locale), Language::De, "{locale}");
        }
        for locale in ["C", "C.UTF-8", "POSIX", "en_US.UTF-8", "en_GB", "fr_FR.UTF-8", "", "deu", "dsb_DE"] {
            assert_eq!(language_of(locale), Language::En, "{locale}");
        }
    }

    #[test]
    fn the_setting_is_remembered_beside_the_accounts() {
        let dir = tempfile::tempdir().expect("temp");
        assert_eq!(remembered(dir.path()), LanguageSetting::System, "nothing yet: the system's language");
        remember(dir.path(), LanguageSetting::De).expect("saved");
        assert_eq!(remembered(dir.path()), LanguageSetting::De);
        let text = std::fs::read_to_string(dir.path().join("language.json")).expect("read");
        assert_eq!(text, r#"{"language":"de"}"#, "the file's words are the UI's");
        std::fs::write(dir.path().join("language.json"), "{broken").expect("write");
        assert_eq!(remembered(dir.path()), LanguageSetting::System, "a broken file is ignored");
    }
}
