//! "The system's proxy settings" on this computer now, as data: the desktop's proxy page renders
//! it in the window's language (`ui/messages`, keys `proxy_system_*`; docs/translating.md), and
//! [`SystemProxy::words`] says it in English for everything else.

use serde::Serialize;

use super::gnome::{GnomeMode, GnomeProxy, Scheme};

/// The environment's proxy variables, in the order they are looked at.
pub const PROXY_VARIABLES: [&str; 6] =
    ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"];

/// Where the system's proxies come from, and what they are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum SystemProxy {
    /// These environment variables are set (servers on this computer excepted).
    Environment { variables: Vec<String> },
    /// GNOME's proxy settings: none (direct connections).
    GnomeNone,
    /// GNOME's settings name a PAC file, which Homeport does not evaluate; None: found by WPAD.
    GnomePac { url: Option<String> },
    /// GNOME's manual settings; `proxies` empty: no proxy host is set (direct connections).
    GnomeManual { proxies: Vec<SchemeProxy>, ignore_hosts: Vec<String> },
    /// No proxy variable and no GNOME proxy settings.
    None,
}

/// One of GNOME's manual proxies: which requests go through it, and its URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SchemeProxy {
    pub scheme: ProxyScheme,
    pub url: String,
}

/// Which requests a proxy is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ProxyScheme {
    Http,
    Https,
    /// Everything that has no proxy of its own (GNOME's SOCKS proxy).
    Others,
}

impl SystemProxy {
    /// What the environment and GNOME say now.
    pub fn now() -> SystemProxy {
        let variables: Vec<String> = PROXY_VARIABLES
            .iter()
            .filter(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()))
            .map(|name| name.to_string())
            .collect();
        if !variables.is_empty() {
            return SystemProxy::Environment { variables };
        }
        match GnomeProxy::read() {
            Some(settings) => SystemProxy::of_gnome(&settings),
            None => SystemProxy::None,
        }
    }

    pub fn of_gnome(settings: &GnomeProxy) -> SystemProxy {
        match settings.mode {
            GnomeMode::None => SystemProxy::GnomeNone,
            GnomeMode::Auto => {
                SystemProxy::GnomePac { url: Some(settings.autoconfig_url.clone()).filter(|url| !url.is_empty()) }
            }
            GnomeMode::Manual => SystemProxy::GnomeManual {
                proxies: settings
                    .proxy_urls()
                    .into_iter()
                    .map(|(scheme, url)| SchemeProxy {
                        scheme: match scheme {
                            Scheme::Http => ProxyScheme::Http,
                            Scheme::Https => ProxyScheme::Https,
                            Scheme::All => ProxyScheme::Others,
                        },
                        url,
                    })
                    .collect(),
                ignore_hosts: settings.ignore_hosts.clone(),
            },
        }
    }

    /// In English (the CLI, the logs).
    pub fn words(&self) -> String {
        match self {
            SystemProxy::Environment { variables } => {
                format!("the environment's {} (servers on this computer excepted)", variables.join(", "))
            }
            SystemProxy::GnomeNone => "GNOME's proxy settings: none (direct connections)".to_owned(),
            SystemProxy::GnomePac { url } => format!(
                "GNOME's proxy settings name a PAC file ({}), which Homeport does not evaluate: it connects directly",
                url.as_deref().unwrap_or("found by WPAD")
            ),
            SystemProxy::GnomeManual { proxies, .. } if proxies.is_empty() => {
                "GNOME's proxy settings: manual, but no proxy host is set (direct connections)".to_owned()
            }
            SystemProxy::GnomeManual { proxies, ignore_hosts } => {
                let list: Vec<String> = proxies
                    .iter()
                    .map(|proxy| {
                        let scheme = match proxy.scheme {
                            ProxyScheme::Http => "http via",
                            ProxyScheme::Https => "https via",
                            ProxyScheme::Others => "others via",
                        };
                        format!("{scheme} {}", proxy.url)
                    })
                    .collect();
                let mut words = format!("GNOME's proxy settings: {}", list.join(", "));
                if !ignore_hosts.is_empty() {
                    words.push_str(&format!("; not for {}", ignore_hosts.join(", ")));
                }
                words
            }
            SystemProxy::None => {
                "no proxy (no HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, and no GNOME proxy settings)".to_owned()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gnome_manual_crosses_as_data_and_reads_as_before_in_english() {
        let settings = GnomeProxy {
            mode: GnomeMode::Manual,
            http: Some(("proxy.example".into(), 3128)),
            socks: Some(("socks.example".into(), 1080)),
            ignore_hosts: vec!["localhost".into()],
            ..GnomeProxy::default()
        };
        let system = SystemProxy::of_gnome(&settings);
        let json = serde_json::to_value(&system).expect("serializes");
        assert_eq!(json["source"], "gnome_manual");
        assert_eq!(json["proxies"][0], serde_json::json!({ "scheme": "http", "url": "http://proxy.example:3128" }));
        assert_eq!(json["proxies"][1]["scheme"], "others");
        assert_eq!(
            system.words(),
            "GNOME's proxy settings: http via http://proxy.example:3128, others via socks5h://socks.example:1080; not for localhost"
        );
        let pac = SystemProxy::of_gnome(&GnomeProxy { mode: GnomeMode::Auto, ..GnomeProxy::default() });
        assert_eq!(pac, SystemProxy::GnomePac { url: None }, "an empty autoconfig URL: found by WPAD");
        assert_eq!(
            serde_json::to_value(SystemProxy::None).expect("serializes"),
            serde_json::json!({ "source": "none" })
        );
    }
}
