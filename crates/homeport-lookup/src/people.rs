//! The demo's people, in one place: who can log in where, with which password, and the special cases (a
//! disabled oCIS account, a rate-limited and a deactivated Matrix user, an unsubscribed tenant).
//!
//! Each lookup server has its own: they are part of its [`Scenario`](crate::Scenario) (`Scenario::people`), and the
//! systems read them from their state, so two lookup servers in one process (the tests, the desktop's demo started
//! again with another file) never see each other's. `homeport mock`'s description and the desktop's demo page list
//! them. The built-in tables below are [`BUILT_IN`]; a demo file (`homeport mock --scenario FILE`,
//! [`crate::demo_file`]) puts a customer's own people, instances, tenants and product names in their place, in the
//! same types.

/// Everyone and everything the demo shows, as one value: the built-in [`BUILT_IN`] or a demo file's. A demo file's
/// lives as long as the process (`'static`, as the built-in's): a lookup server's handlers hold it without counting,
/// and a file is a few kilobytes, loaded once per `homeport mock` and once per demo the desktop starts.
#[derive(PartialEq, Eq)]
pub struct People {
    /// status.php's `productname` of the ownCloud servers (`ownCloud`).
    pub(crate) owncloud_product: &'static str,
    /// The one password of every ownCloud person.
    pub(crate) owncloud_password: &'static str,
    /// status.php's `productname` of oCIS and its instances (`Infinite Scale`).
    pub(crate) ocis_product: &'static str,
    /// status.php's `productname` of the Nextcloud Global Site Selector and its nodes (`Nextcloud`).
    pub(crate) nextcloud_product: &'static str,
    pub(crate) instances: &'static [OwncloudInstance],
    pub(crate) owncloud_users: &'static [DemoUser],
    pub(crate) oidc_users: &'static [OidcUser],
    pub(crate) ocis_accounts: &'static [OcisAccount],
    /// The oCIS instances (`A`, `B`) by name, in WebFinger's order.
    pub(crate) ocis_instances: &'static [&'static str],
    pub(crate) tenants: &'static [Tenant],
    pub(crate) matrix_users: &'static [MatrixUser],
    pub(crate) nextcloud_users: &'static [NextcloudUser],
}

/// An ownCloud instance: its name (`instance1`, its URL path in the path layout) and the domain its people's logins
/// end in (`instance1.com`), by which the central server routes them.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct OwncloudInstance {
    pub(crate) name: &'static str,
    pub(crate) domain: &'static str,
}

/// The demo as it ships: the seed's ownCloud people, oCIS's demo users, the Matrix and Nextcloud people below.
pub static BUILT_IN: People = People {
    owncloud_product: "ownCloud",
    owncloud_password: DEMO_PASSWORD,
    ocis_product: "Infinite Scale",
    nextcloud_product: "Nextcloud",
    instances: &[
        OwncloudInstance { name: "instance1", domain: "instance1.com" },
        OwncloudInstance { name: "instance2", domain: "instance2.com" },
        OwncloudInstance { name: "instance3", domain: "instance3.com" },
    ],
    owncloud_users: &DEMO_USERS,
    oidc_users: &OIDC_USERS,
    ocis_accounts: &OCIS_ACCOUNTS,
    ocis_instances: &["A", "B"],
    tenants: &TENANTS,
    matrix_users: &MATRIX_USERS,
    nextcloud_users: &NEXTCLOUD_USERS,
};

impl std::fmt::Debug for People {
    // Names and counts, not every table (the avatars are pictures).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("People")
            .field("built_in", &self.is_built_in())
            .field("owncloud_product", &self.owncloud_product)
            .field("instances", &self.instances.iter().map(|i| i.name).collect::<Vec<_>>())
            .field("owncloud_users", &self.owncloud_users.len())
            .field("oidc_users", &self.oidc_users.len())
            .field("tenants", &self.tenants.iter().map(|t| t.name).collect::<Vec<_>>())
            .field("matrix_users", &self.matrix_users.len())
            .field("nextcloud_users", &self.nextcloud_users.len())
            .finish_non_exhaustive()
    }
}

impl People {
    /// Whether these are the built-in people (no demo file).
    pub fn is_built_in(&self) -> bool {
        std::ptr::eq(self, &BUILT_IN)
    }

    pub(crate) fn find_oidc_user(&self, login: &str) -> Option<&'static OidcUser> {
        self.oidc_users.iter().find(|user| user.login == login)
    }

    pub(crate) fn find_ocis_account(&self, login: &str) -> Option<&'static OcisAccount> {
        self.ocis_accounts.iter().find(|account| account.login == login)
    }

    pub(crate) fn find_tenant(&self, name: &str) -> Option<&'static Tenant> {
        self.tenants.iter().find(|tenant| tenant.name == name)
    }

    pub(crate) fn find_nextcloud_user(&self, login: &str) -> Option<&'static NextcloudUser> {
        self.nextcloud_users.iter().find(|user| user.login == login)
    }

    pub(crate) fn find_matrix_user(&self, localpart: &str) -> Option<&'static MatrixUser> {
        self.matrix_users.iter().find(|user| user.localpart.eq_ignore_ascii_case(localpart))
    }
}

/// One of the ownCloud demo people (password [`DEMO_PASSWORD`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoPerson {
    pub login: &'static str,
    pub display_name: &'static str,
    pub instance_url: String,
}

/// A person with an account in the Nextcloud Global Scale set-up (`docs/protocols/nextcloud-login-flow.md`), for the
/// desktop app's demo page and `homeport mock`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextcloudPerson {
    pub login: &'static str,
    /// The account password: the Global Site Selector's login page and the node's `getapppassword` take it; the
    /// node's WebDAV and OCS refuse it (only app passwords log in there).
    pub password: &'static str,
    pub display_name: &'static str,
    /// The node that holds the account: `node1` or `node2`.
    pub node: &'static str,
    /// That node's URL, without trailing slash (as Login Flow v2's `server`).
    pub node_url: String,
}

/// A user of the OpenID Provider (oCIS and the tenants), for the desktop app's demo page and `homeport mock`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcPerson {
    pub login: &'static str,
    pub password: &'static str,
    pub display_name: &'static str,
    pub email: &'static str,
    /// The oCIS instances (names, see [`LookupServer::ocis_instance_urls`](crate::LookupServer::ocis_instance_urls))
    /// the account lives on.
    pub ocis_instances: Vec<&'static str>,
    /// The IdP logs the person in, but oCIS refuses the account ("account is disabled").
    pub disabled_at_ocis: bool,
}

/// A user of the Matrix homeservers, for the desktop app's demo page and `homeport mock`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatrixPerson {
    pub localpart: &'static str,
    pub password: &'static str,
    pub display_name: &'static str,
    /// The homeserver that owns the account: `hs1`, `hs2` or `oauth` (see
    /// [`LookupServer::matrix_homeserver_urls`](crate::LookupServer::matrix_homeserver_urls)).
    pub homeserver: &'static str,
    /// The full user id: `@alice:hs1.localhost:41234`.
    pub user_id: String,
    /// The homeserver refuses the login with `M_USER_DEACTIVATED`.
    pub deactivated: bool,
    /// The first password login per server start (at a portal, or at the homeserver) is answered
    /// `429 M_LIMIT_EXCEEDED` with `retry_after_ms`; later ones succeed.
    pub rate_limited: bool,
    /// The homeserver offers only the OAuth 2.0 API (`oauth`): the person logs in in the browser, at the IdP's
    /// Matrix zone, with `password` there (`docs/protocols/matrix-oauth.md`).
    pub oauth: bool,
}

// ownCloud (`docs/protocols/owncloud-redirect.md`): one password for all, each user on the instance their login's
// domain names.

/// The one password of every ownCloud demo user, as in ownCloud's example deployment.
pub const DEMO_PASSWORD: &str = "secret";

/// A demo account. ownCloud's user id is the login name.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct DemoUser {
    pub(crate) login: &'static str,
    pub(crate) display_name: &'static str,
    pub(crate) instance: &'static str,
    /// The picture the instance serves; `None` answers 404, and the client shows initials.
    pub(crate) avatar_png: Option<&'static [u8]>,
}

pub(crate) const DEMO_USERS: [DemoUser; 3] = [
    DemoUser {
        login: "test@instance1.com",
        display_name: "Test User One",
        instance: "instance1",
        avatar_png: Some(include_bytes!("../assets/avatar-instance1.png")),
    },
    DemoUser { login: "test@instance2.com", display_name: "Test User Two", instance: "instance2", avatar_png: None },
    DemoUser { login: "test@instance3.com", display_name: "Test User Three", instance: "instance3", avatar_png: None },
];

// The OpenID Provider (`docs/protocols/oidc-ocis.md`) and what oCIS knows of its users.

/// A person who can log in at the provider (oCIS's demo users).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct OidcUser {
    pub(crate) login: &'static str,
    pub(crate) password: &'static str,
    pub(crate) display_name: &'static str,
    pub(crate) email: &'static str,
    /// The stable subject identifier (oCIS's user ids of these demo users).
    pub(crate) sub: &'static str,
}

pub(crate) const OIDC_USERS: [OidcUser; 3] = [
    OidcUser {
        login: "einstein",
        password: "relativity",
        display_name: "Albert Einstein",
        email: "einstein@example.org",
        sub: "4c510ada-c86b-4815-8820-42cdf82c3d51",
    },
    OidcUser {
        login: "marie",
        password: "radioactivity",
        display_name: "Marie Curie",
        email: "marie@example.org",
        sub: "f7fbf8c8-139b-4376-b307-cf0a8c2d0d9c",
    },
    OidcUser {
        login: "richard",
        password: "superfluidity",
        display_name: "Richard Feynman",
        email: "richard@example.org",
        sub: "932b4540-8d16-481e-8ef4-588e4b6b151c",
    },
];

/// What oCIS knows about an IdP user: where their data lives and whether the account may log in.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct OcisAccount {
    pub(crate) login: &'static str,
    pub(crate) instances: &'static [&'static str],
    /// oCIS's "account has been disabled": the IdP logs them in, oCIS refuses them.
    pub(crate) disabled: bool,
}

pub(crate) const OCIS_ACCOUNTS: [OcisAccount; 3] = [
    OcisAccount { login: "einstein", instances: &["A"], disabled: false },
    OcisAccount { login: "marie", instances: &["A", "B"], disabled: false },
    OcisAccount { login: "richard", instances: &["A"], disabled: true },
];

// The tenants of the approuter (`docs/protocols/tenant-by-host.md`), each with an identity zone at the IdP.

/// The multitenant application, as its scopes name it.
pub(crate) const XSAPPNAME: &str = "homeport-demo";
/// The scopes every subscribed tenant's users get, as `<xsappname>!t<index>.<scope>`.
const APP_SCOPES: [&str; 2] = ["Read", "Admin"];

/// A consumer subaccount.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Tenant {
    /// The subdomain: `tenant1`.
    pub(crate) name: &'static str,
    /// The identity zone id (`zid` claim).
    pub(crate) zid: &'static str,
    /// UAA's tenant index in `<xsappname>!t<index>`.
    pub(crate) index: u32,
    /// Whether the tenant subscribed to the application; the zone issues tokens only then.
    pub(crate) subscribed: bool,
}

pub(crate) const TENANTS: [Tenant; 3] = [
    Tenant { name: "tenant1", zid: "a1f3c2d4-5b6e-4f70-8a9b-0c1d2e3f4a51", index: 101, subscribed: true },
    Tenant { name: "tenant2", zid: "b2e4d3c5-6c7f-4a81-9bac-1d2e3f4a5b62", index: 102, subscribed: true },
    Tenant { name: "tenant3", zid: "c3f5e4d6-7d80-4b92-acbd-2e3f4a5b6c73", index: 103, subscribed: false },
];

impl Tenant {
    /// `homeport-demo!t101.Read`, `homeport-demo!t101.Admin`.
    pub(crate) fn scopes(&self) -> Vec<String> {
        APP_SCOPES.iter().map(|scope| format!("{XSAPPNAME}!t{}.{scope}", self.index)).collect()
    }

    /// Why an unsubscribed tenant's zone issues no token.
    pub(crate) fn refusal(&self) -> String {
        format!("tenant {} is not subscribed to {XSAPPNAME}", self.name)
    }
}

// Matrix (`docs/protocols/matrix-msc1730.md`): the homeservers' accounts.

/// A person with an account on one of the homeservers.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct MatrixUser {
    pub(crate) localpart: &'static str,
    pub(crate) password: &'static str,
    pub(crate) display_name: &'static str,
    /// `hs1` or `hs2`.
    pub(crate) homeserver: &'static str,
    /// The homeserver refuses the login with `M_USER_DEACTIVATED` (after checking the password).
    pub(crate) deactivated: bool,
    /// The first password login per server start is answered `429 M_LIMIT_EXCEEDED`.
    pub(crate) rate_limited: bool,
}

pub(crate) const MATRIX_USERS: [MatrixUser; 4] = [
    MatrixUser {
        localpart: "alice",
        password: "wonderland",
        display_name: "Alice Liddell",
        homeserver: "hs1",
        deactivated: false,
        rate_limited: false,
    },
    MatrixUser {
        localpart: "bob",
        password: "builder",
        display_name: "Bob Builder",
        homeserver: "hs2",
        deactivated: false,
        rate_limited: false,
    },
    MatrixUser {
        localpart: "carol",
        password: "rate-limit",
        display_name: "Carol Chase",
        homeserver: "hs1",
        deactivated: false,
        rate_limited: true,
    },
    MatrixUser {
        localpart: "dave",
        password: "deactivated",
        display_name: "Dave Departed",
        homeserver: "hs2",
        deactivated: true,
        rate_limited: false,
    },
];

// Nextcloud Global Scale (`docs/protocols/nextcloud-login-flow.md`): the Global Site Selector knows every account
// and the node that holds it.

/// A Nextcloud account. Nextcloud's user id is the login name here.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NextcloudUser {
    pub(crate) login: &'static str,
    pub(crate) password: &'static str,
    pub(crate) display_name: &'static str,
    pub(crate) email: &'static str,
    /// `node1` or `node2`.
    pub(crate) node: &'static str,
}

pub(crate) const NEXTCLOUD_USERS: [NextcloudUser; 2] = [
    NextcloudUser {
        login: "alice",
        password: "alice-pw",
        display_name: "Alice Nextcloud",
        email: "alice@node1.example.org",
        node: "node1",
    },
    NextcloudUser {
        login: "bob",
        password: "bob-pw",
        display_name: "Bob Nextcloud",
        email: "bob@node2.example.org",
        node: "node2",
    },
];
