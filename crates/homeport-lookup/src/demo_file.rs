//! A demo file: a customer's own set-up for `homeport mock --scenario FILE` and the desktop's
//! `--demo-scenario FILE` — the lookup server's settings and faults, the ownCloud product name,
//! instances and people, the IdP's (oCIS's) people, the Matrix and Nextcloud people. Each section
//! left out keeps the built-in demo's ([`crate::people::BUILT_IN`]: the same types). The schema:
//! docs/scenarios.md#a-customers-demo-mock---scenario; an example: docs/examples/demo-acme.toml.
//! A mistake is named with file, line and column.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::error::LookupError;
use crate::people::{
    DemoUser, MatrixUser, NextcloudUser, OcisAccount, OidcUser, OwncloudInstance, People, Tenant, BUILT_IN,
};
use crate::scenario::{Fault, Scenario};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    lookup: Option<Lookup>,
    #[serde(default)]
    owncloud: Option<Owncloud>,
    #[serde(default)]
    ocis: Option<Ocis>,
    #[serde(default)]
    oidc: Option<Section<OidcEntry>>,
    #[serde(default)]
    tenants: Option<Vec<TenantEntry>>,
    #[serde(default)]
    matrix: Option<Section<MatrixEntry>>,
    #[serde(default)]
    nextcloud: Option<NextcloudSection>,
}

/// oCIS: its product name and its instances (WebFinger's `server-instance`s).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Ocis {
    #[serde(default)]
    product_name: Option<String>,
    #[serde(default)]
    instances: Option<Vec<Spanned<String>>>,
}

/// A tenant of the approuter (`<name>.approuter.localhost`), with its identity zone at the IdP.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantEntry {
    name: Spanned<String>,
    /// Subscribed to the application: its zone issues tokens (default yes).
    #[serde(default = "yes")]
    subscribed: bool,
}

fn yes() -> bool {
    true
}

/// Nextcloud: the product name and its people.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NextcloudSection {
    #[serde(default)]
    product_name: Option<String>,
    #[serde(default)]
    people: Option<Vec<NextcloudEntry>>,
}

/// What `homeport mock`'s flags set.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Lookup {
    #[serde(default)]
    fault: Option<Spanned<String>>,
    #[serde(default)]
    redirect_status: Option<u16>,
    #[serde(default)]
    latency_ms: Option<u64>,
    #[serde(default)]
    token_lifetime_secs: Option<u64>,
    #[serde(default)]
    path_instances: bool,
    #[serde(default)]
    tls: bool,
    /// The IdP offers dynamic client registration (`homeport mock --idp-registration`).
    #[serde(default)]
    idp_registration: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Owncloud {
    #[serde(default)]
    product_name: Option<String>,
    #[serde(default)]
    password: Option<String>,
    instances: Vec<InstanceEntry>,
    people: Vec<OwncloudEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InstanceEntry {
    name: Spanned<String>,
    /// The domain its people's logins end in; default `<name>.com`.
    #[serde(default)]
    domain: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OwncloudEntry {
    login: Spanned<String>,
    display_name: String,
    instance: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Section<T> {
    people: Vec<T>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OidcEntry {
    login: Spanned<String>,
    password: String,
    display_name: String,
    email: String,
    /// The oCIS instances (`A`, `B`, or `[ocis] instances`) the account lives on; default the first.
    #[serde(default)]
    instances: Option<Spanned<Vec<String>>>,
    /// oCIS refuses the account ("account is disabled").
    #[serde(default)]
    disabled: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MatrixEntry {
    localpart: Spanned<String>,
    password: String,
    display_name: String,
    /// `hs1` or `hs2`.
    homeserver: Spanned<String>,
    #[serde(default)]
    deactivated: bool,
    #[serde(default)]
    rate_limited: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NextcloudEntry {
    login: Spanned<String>,
    password: String,
    display_name: String,
    email: String,
    /// `node1` or `node2`.
    node: Spanned<String>,
}

/// A demo: the lookup server's settings, its people among them (`scenario.people`).
#[derive(Debug)]
pub struct Demo {
    pub scenario: Scenario,
}

impl Demo {
    /// Reads the demo file `path`.
    pub fn load(path: &Path) -> Result<Demo, LookupError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| LookupError::DemoFile(format!("{}: {e}", path.display())))?;
        Demo::parse(path, &text)
    }

    /// Parses `text` as the demo file `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Demo, LookupError> {
        let at = |span: std::ops::Range<usize>, message: String| {
            let (line, column) = line_and_column(text, span.start);
            LookupError::DemoFile(format!("{}:{line}:{column}: {message}", path.display()))
        };
        let mut file: File =
            toml::from_str(text).map_err(|e| at(e.span().unwrap_or(0..0), e.message().trim().to_owned()))?;
        let mut scenario = Scenario::default();
        if let Some(lookup) = file.lookup {
            if let Some(fault) = lookup.fault {
                scenario.fault = Some(fault.get_ref().parse::<Fault>().map_err(|e| at(fault.span(), reason(e)))?);
            }
            scenario.redirect_status = lookup.redirect_status.unwrap_or(scenario.redirect_status);
            scenario.latency = lookup.latency_ms.map_or(scenario.latency, Duration::from_millis);
            scenario.token_lifetime = lookup.token_lifetime_secs.map_or(scenario.token_lifetime, Duration::from_secs);
            scenario.path_instances = lookup.path_instances;
            scenario.tls = lookup.tls;
            scenario.idp.registration = lookup.idp_registration;
            scenario.check().map_err(|e| at(0..0, reason(e)))?;
        }
        let mut people = People { ..BUILT_IN };
        let nextcloud_people = file.nextcloud.as_mut().and_then(|nextcloud| nextcloud.people.take());
        if let Some(owncloud) = file.owncloud {
            let mut names = BTreeSet::new();
            let mut instances = Vec::new();
            for entry in owncloud.instances {
                let name = entry.name.get_ref();
                let safe =
                    !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
                if !safe {
                    return Err(at(
                        entry.name.span(),
                        format!("instance name {name:?}: lower-case letters, digits and - (it is a URL path)"),
                    ));
                }
                if !names.insert(name.clone()) {
                    return Err(at(entry.name.span(), format!("instance {name:?} is named twice")));
                }
                let domain = entry.domain.unwrap_or_else(|| format!("{name}.com"));
                instances.push(OwncloudInstance { name: leak(name.clone()), domain: leak(domain) });
            }
            let mut users = Vec::new();
            for entry in owncloud.people {
                let login = entry.login.get_ref();
                let Some(instance) = instances.iter().find(|i| i.name == entry.instance.get_ref().as_str()) else {
                    return Err(at(
                        entry.instance.span(),
                        format!("no instance {:?} in [[owncloud.instances]]", entry.instance.get_ref()),
                    ));
                };
                let routed =
                    login.rsplit_once('@').is_some_and(|(_, domain)| domain.eq_ignore_ascii_case(instance.domain));
                if !routed {
                    return Err(at(
                        entry.login.span(),
                        format!("{login:?} must end in @{}: the central server routes a login to its instance by its domain", instance.domain),
                    ));
                }
                users.push(DemoUser {
                    login: leak(login.clone()),
                    display_name: leak(entry.display_name),
                    instance: instance.name,
                    avatar_png: None,
                });
            }
            people.owncloud_product = owncloud.product_name.map_or(BUILT_IN.owncloud_product, leak);
            people.owncloud_password = owncloud.password.map_or(BUILT_IN.owncloud_password, leak);
            people.instances = Vec::leak(instances);
            people.owncloud_users = Vec::leak(users);
        }
        if let Some(ocis) = file.ocis {
            people.ocis_product = ocis.product_name.map_or(BUILT_IN.ocis_product, leak);
            if let Some(instances) = ocis.instances {
                let mut names: Vec<&'static str> = Vec::new();
                for name in instances {
                    if !is_label(name.get_ref()) || name.get_ref() == RETIRED_OCIS_INSTANCE {
                        return Err(at(
                            name.span(),
                            format!("oCIS instance name {:?}: letters, digits and - (not {RETIRED_OCIS_INSTANCE:?}, the retired instance of fault webfinger-many-instances)", name.get_ref()),
                        ));
                    }
                    if names.contains(&name.get_ref().as_str()) {
                        return Err(at(name.span(), format!("oCIS instance {:?} is named twice", name.get_ref())));
                    }
                    names.push(leak(name.into_inner()));
                }
                if names.is_empty() {
                    return Err(at(0..0, "[ocis] instances: name at least one".into()));
                }
                people.ocis_instances = Vec::leak(names);
                if file.oidc.is_none() {
                    return Err(at(
                        0..0,
                        "[ocis] instances need [[oidc.people]]: the built-in people live on A and B".into(),
                    ));
                }
            }
        }
        if let Some(oidc) = file.oidc {
            let (mut users, mut accounts) = (Vec::new(), Vec::new());
            let known = people.ocis_instances;
            for entry in oidc.people {
                let instances = entry.instances.unwrap_or_else(|| Spanned::new(0..0, vec![known[0].to_owned()]));
                if let Some(unknown) = instances.get_ref().iter().find(|i| !known.contains(&i.as_str())) {
                    return Err(at(instances.span(), format!("no oCIS instance {unknown:?} ({})", known.join(", "))));
                }
                let login = leak(entry.login.get_ref().clone());
                users.push(OidcUser {
                    login,
                    password: leak(entry.password),
                    display_name: leak(entry.display_name),
                    email: leak(entry.email),
                    sub: leak(format!("demo-{login}")),
                });
                let instances: Vec<&'static str> = instances.into_inner().into_iter().map(leak).collect();
                accounts.push(OcisAccount { login, instances: Vec::leak(instances), disabled: entry.disabled });
            }
            people.oidc_users = Vec::leak(users);
            people.ocis_accounts = Vec::leak(accounts);
        }
        if let Some(matrix) = file.matrix {
            let mut users = Vec::new();
            for entry in matrix.people {
                let homeserver = match entry.homeserver.get_ref().as_str() {
                    "hs1" => "hs1",
                    "hs2" => "hs2",
                    other => return Err(at(entry.homeserver.span(), format!("no homeserver {other:?} (hs1, hs2)"))),
                };
                users.push(MatrixUser {
                    localpart: leak(entry.localpart.into_inner()),
                    password: leak(entry.password),
                    display_name: leak(entry.display_name),
                    homeserver,
                    deactivated: entry.deactivated,
                    rate_limited: entry.rate_limited,
                });
            }
            people.matrix_users = Vec::leak(users);
        }
        if let Some(entries) = file.tenants {
            let mut tenants: Vec<Tenant> = Vec::new();
            for (index, entry) in (101..).zip(entries) {
                let name = entry.name.get_ref();
                // A DNS label under approuter.localhost and auth.localhost; `matrix` is the Matrix zone's.
                let lower = name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
                if !is_label(name) || !lower || name == crate::oidc::MATRIX_ZONE_LABEL {
                    return Err(at(
                        entry.name.span(),
                        format!("tenant name {name:?}: lower-case letters, digits and - (a host name's first label; not \"matrix\")"),
                    ));
                }
                if tenants.iter().any(|tenant| tenant.name == name) {
                    return Err(at(entry.name.span(), format!("tenant {name:?} is named twice")));
                }
                tenants.push(Tenant {
                    name: leak(name.clone()),
                    zid: leak(format!("demo-zone-{name}")),
                    index,
                    subscribed: entry.subscribed,
                });
            }
            people.tenants = Vec::leak(tenants);
        }
        if let Some(nextcloud) = file.nextcloud {
            people.nextcloud_product = nextcloud.product_name.map_or(BUILT_IN.nextcloud_product, leak);
        }
        if let Some(entries) = nextcloud_people {
            let mut users = Vec::new();
            for entry in entries {
                let node = match entry.node.get_ref().as_str() {
                    "node1" => "node1",
                    "node2" => "node2",
                    other => return Err(at(entry.node.span(), format!("no Nextcloud node {other:?} (node1, node2)"))),
                };
                users.push(NextcloudUser {
                    login: leak(entry.login.into_inner()),
                    password: leak(entry.password),
                    display_name: leak(entry.display_name),
                    email: leak(entry.email),
                    node,
                });
            }
            people.nextcloud_users = Vec::leak(users);
        }
        scenario.people = Box::leak(Box::new(people));
        Ok(Demo { scenario })
    }
}

/// Fault `webfinger-many-instances`'s retired instance, which a demo's own instances may not be named.
const RETIRED_OCIS_INSTANCE: &str = "C";

/// A name that is also a host name's label and a URL path segment: letters, digits and `-`.
fn is_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

fn reason(error: LookupError) -> String {
    match error {
        LookupError::InvalidScenario(reason) => reason,
        other => other.to_string(),
    }
}

/// A demo file's text lives as long as the process that serves it (see [`People`]: a few kilobytes per file loaded).
fn leak(text: String) -> &'static str {
    String::leak(text)
}

/// Line and column (from 1, in characters) of byte `offset` in `text`: how a demo file's and a
/// scenario file's mistakes are placed.
pub fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |rest| rest.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACME: &str = include_str!("../../../docs/examples/demo-acme.toml");

    #[test]
    fn the_worked_example_reads_and_keeps_what_it_leaves_out() {
        let demo = Demo::parse(Path::new("demo-acme.toml"), ACME).expect("the example is valid");
        let people = demo.scenario.people;
        assert_eq!(people.owncloud_product, "ACME Cloud", "the customer's product name");
        assert_eq!(people.instances.iter().map(|i| i.name).collect::<Vec<_>>(), ["berlin", "hamburg"]);
        assert_eq!(people.owncloud_users[0].login, "anna@berlin.acme.test");
        assert_eq!(people.matrix_users[0].localpart, "jonas", "its own Matrix people");
        assert_eq!(people.nextcloud_users, BUILT_IN.nextcloud_users, "no [nextcloud]: the built-in people");
        assert_eq!(demo.scenario.latency, Duration::from_millis(150), "[lookup] as homeport mock's flags");
    }

    fn example(name: &str, text: &str) -> Demo {
        Demo::parse(Path::new(name), text).unwrap_or_else(|e| panic!("{name} is valid: {e}"))
    }

    #[test]
    fn the_ocis_example_names_its_instances_people_and_tenants() {
        let demo = example("demo-ocis.toml", include_str!("../../../docs/examples/demo-ocis.toml"));
        let people = demo.scenario.people;
        assert_eq!(people.ocis_product, "ACME Drive", "oCIS's product name");
        assert_eq!(people.ocis_instances, ["north", "south"], "its instances");
        assert_eq!(people.find_ocis_account("greta").map(|a| a.instances), Some(&["north", "south"][..]));
        assert_eq!(people.find_ocis_account("paul").map(|a| (a.instances, a.disabled)), Some((&["north"][..], true)));
        let tenants: Vec<_> = people.tenants.iter().map(|t| (t.name, t.subscribed)).collect();
        assert_eq!(tenants, [("acme-berlin", true), ("acme-trial", false)], "its tenants");
        assert_eq!(people.owncloud_users, BUILT_IN.owncloud_users, "no [owncloud]: the built-in people");
    }

    #[test]
    fn the_nextcloud_matrix_and_fault_examples_read() {
        let nextcloud = example("demo-nextcloud.toml", include_str!("../../../docs/examples/demo-nextcloud.toml"));
        let people = nextcloud.scenario.people;
        assert_eq!(people.nextcloud_product, "ACME Files", "the example brands its Nextcloud");
        let nodes: Vec<_> = people.nextcloud_users.iter().map(|u| (u.login, u.node)).collect();
        assert_eq!(nodes, [("lena", "node1"), ("max", "node2")]);
        let matrix = example("demo-matrix.toml", include_str!("../../../docs/examples/demo-matrix.toml"));
        let special: Vec<_> =
            matrix.scenario.people.matrix_users.iter().map(|u| (u.localpart, u.rate_limited, u.deactivated)).collect();
        assert_eq!(special, [("ida", false, false), ("kai", true, false), ("lea", false, true)]);
        let fault = example("demo-fault.toml", include_str!("../../../docs/examples/demo-fault.toml"));
        assert_eq!(fault.scenario.fault, Some(Fault::Maintenance), "[lookup] fault");
        assert_eq!(fault.scenario.people.owncloud_product, "ACME Cloud");
    }

    #[test]
    fn mistakes_are_named_with_line_and_column() {
        let cases = [
            ("[lookup]\nfault = \"maintenanse\"\n", "f:2:9: unknown fault \"maintenanse\""),
            ("[owncloud]\ninstances = []\npeople = []\nproduct = \"x\"\n", "f:4:1: unknown field `product`"),
            (
                "[owncloud]\ninstances = [{ name = \"Berlin\" }]\npeople = []\n",
                "f:2:23: instance name \"Berlin\": lower-case letters",
            ),
            (
                "[owncloud]\ninstances = [{ name = \"b\" }]\n[[owncloud.people]]\nlogin = \"a@b.com\"\ndisplay_name = \"A\"\ninstance = \"c\"\n",
                "f:6:12: no instance \"c\"",
            ),
            (
                "[owncloud]\ninstances = [{ name = \"b\" }]\n[[owncloud.people]]\nlogin = \"a@c.com\"\ndisplay_name = \"A\"\ninstance = \"b\"\n",
                "f:4:9: \"a@c.com\" must end in @b.com",
            ),
            (
                "[[matrix.people]]\nlocalpart = \"a\"\npassword = \"p\"\ndisplay_name = \"A\"\nhomeserver = \"hs3\"\n",
                "f:5:14: no homeserver \"hs3\"",
            ),
            ("[ocis]\ninstances = [\"north\", \"C\"]\n", "f:2:23: oCIS instance name \"C\""),
            ("[ocis]\nproduct_name = 7\n", "f:2:16: invalid type: integer `7`, expected a string"),
            (
                "[ocis]\ninstances = [\"north\"]\n[[oidc.people]]\nlogin = \"g\"\npassword = \"p\"\ndisplay_name = \"G\"\nemail = \"g@x\"\ninstances = [\"A\"]\n",
                "f:8:13: no oCIS instance \"A\" (north)",
            ),
            ("[[tenants]]\nname = \"Acme\"\n", "f:2:8: tenant name \"Acme\""),
            ("[[tenants]]\nname = \"a\"\n[[tenants]]\nname = \"a\"\n", "f:4:8: tenant \"a\" is named twice"),
            ("[[tenants]]\nname = \"a\"\nsubscribed = \"yes\"\n", "f:3:14: invalid type: string \"yes\", expected a boolean"),
            ("[nextcloud]\nproduct = \"x\"\n", "f:2:1: unknown field `product`"),
            ("[nextcloud]\nproduct_name = [1]\n", "f:2:16: invalid type: sequence, expected a string"),
            (
                "[[nextcloud.people]]\nlogin = \"l\"\npassword = \"p\"\ndisplay_name = \"L\"\nemail = \"l@x\"\nnode = \"node3\"\n",
                "f:6:8: no Nextcloud node \"node3\"",
            ),
        ];
        for (text, expected) in cases {
            let message = Demo::parse(Path::new("f"), text).expect_err(expected).to_string();
            assert!(message.contains(expected), "{expected}: {message}");
        }
    }
}
