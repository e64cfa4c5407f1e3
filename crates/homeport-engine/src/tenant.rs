//! Tenant by host (SAP BTP approuter style, docs/protocols/tenant-by-host.md): the host a person
//! typed names the tenant through a `TENANT_HOST_PATTERN` with one capture group, and the
//! tenant's identity zone is the OpenID issuer. Pure data and matching; the login itself is the
//! OIDC path.

use regex::Regex;

use crate::address::ServerUrl;
use crate::error::ConnectError;

/// One multitenant application: which hosts are its tenants, and where their zones live.
#[derive(Clone, Debug)]
pub struct TenantProfile {
    /// Shown to the person (e.g. "homeport-demo").
    pub name: String,
    host_pattern: Regex,
    /// The issuer of a tenant's identity zone, with `{tenant}` in it, e.g.
    /// `https://{tenant}.authentication.eu10.hana.ondemand.com`.
    issuer_template: String,
}

impl TenantProfile {
    /// `host_pattern` must have exactly one capture group (the tenant subdomain), as the
    /// approuter's `TENANT_HOST_PATTERN`; it is matched against the whole host.
    pub fn new(name: &str, host_pattern: &str, issuer_template: &str) -> Result<Self, ConnectError> {
        let invalid =
            |reason: String| ConnectError::InvalidResponse { url: String::new(), what: "tenant profile", reason };
        let host_pattern = Regex::new(host_pattern).map_err(|e| invalid(format!("TENANT_HOST_PATTERN: {e}")))?;
        if host_pattern.captures_len() != 2 {
            return Err(invalid("TENANT_HOST_PATTERN needs exactly one capture group (the tenant)".into()));
        }
        if !issuer_template.contains("{tenant}") {
            return Err(invalid("the issuer template needs {tenant}".into()));
        }
        Ok(TenantProfile { name: name.to_owned(), host_pattern, issuer_template: issuer_template.to_owned() })
    }

    /// The tenant the server's host names, if this profile covers it.
    pub fn tenant_of(&self, server: &ServerUrl) -> Option<String> {
        let host = server.as_url().host_str()?.to_ascii_lowercase();
        let tenant = self.host_pattern.captures(&host)?.get(1)?.as_str();
        // A tenant is one DNS label: anything else would let a host choose a foreign zone.
        let is_label = !tenant.is_empty()
            && tenant.len() <= 63
            && tenant.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !tenant.starts_with('-');
        is_label.then(|| tenant.to_owned())
    }

    /// The issuer of `tenant`'s identity zone.
    pub fn issuer_for(&self, tenant: &str) -> String {
        self.issuer_template.replace("{tenant}", tenant)
    }
}

/// Scopes of the form `<xsappname>!t<tenant index>.<scope>` belong to a subscribed tenant's
/// copy of the application; the rest are generic (openid, profile…).
pub fn application_scopes(scopes: &[String]) -> Vec<String> {
    scopes.iter().filter(|scope| scope.contains("!t")).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn server(url: &str) -> ServerUrl {
        ServerUrl::from_url(Url::parse(url).expect("url")).expect("server url")
    }

    #[test]
    fn the_host_names_the_tenant_and_its_zone() {
        let profile =
            TenantProfile::new("homeport-demo", r"^(.*)\.approuter\.localhost$", "http://{tenant}.auth.localhost:4000")
                .expect("profile");
        assert_eq!(profile.tenant_of(&server("http://tenant1.approuter.localhost:4100/")).as_deref(), Some("tenant1"));
        assert_eq!(profile.issuer_for("tenant1"), "http://tenant1.auth.localhost:4000");
        assert_eq!(profile.tenant_of(&server("http://cloud.example.com/")), None, "not this application");
        assert_eq!(
            profile.tenant_of(&server("http://a.b.approuter.localhost/")),
            None,
            "a tenant is one label: a dotted capture could point at another zone"
        );
    }

    #[test]
    fn profiles_need_one_capture_group_and_a_tenant_placeholder() {
        assert!(TenantProfile::new("x", r"^.*\.example\.com$", "https://{tenant}.auth").is_err(), "no group");
        assert!(TenantProfile::new("x", r"^(.*)\.(example)\.com$", "https://{tenant}.auth").is_err(), "two groups");
        assert!(TenantProfile::new("x", r"^(.*)\.example\.com$", "https://auth.example.com").is_err(), "no {{tenant}}");
        assert!(TenantProfile::new("x", r"^(.*\.example\.com$", "https://{tenant}.auth").is_err(), "bad regex");
    }

    #[test]
    fn application_scopes_are_the_tenant_copies() {
        let scopes = ["openid", "homeport-demo!t101.Read", "homeport-demo!t101.Admin", "profile"].map(String::from);
        assert_eq!(application_scopes(&scopes), ["homeport-demo!t101.Read", "homeport-demo!t101.Admin"]);
    }
}
