//! Nextcloud Global Scale (`docs/protocols/nextcloud-login-flow.md`): a Global Site Selector that logs people in
//! with Login Flow v2 and names the node that holds their account, and two nodes that accept only app passwords.

pub(crate) mod gss;
pub(crate) mod node;
mod pages;
pub(crate) mod state;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

use crate::people::People;

/// The nodes, in order; each account lives on one of them.
pub(crate) const NODE_NAMES: [&str; 2] = ["node1", "node2"];

/// `status.php` of Nextcloud 30.0.2, the same on the GSS and the nodes.
pub(crate) fn status_document(people: &People) -> Value {
    json!({
        "installed": true,
        "maintenance": false,
        "needsDbUpgrade": false,
        "version": "30.0.2.2",
        "versionstring": "30.0.2",
        "edition": "",
        "productname": people.nextcloud_product,
        "extendedSupport": false,
    })
}

pub(crate) fn status_response(people: &People) -> Response {
    axum::Json(status_document(people)).into_response()
}

/// The routers of the GSS and, unless fault `nextcloud-node-down` takes them down, of each node: by the name the
/// request log gives them (`nextcloud-gss`, `nextcloud-node1`, …) and the node's name (`None` for the GSS).
pub(crate) fn routers(nextcloud: &Arc<state::Nextcloud>) -> Vec<(String, Option<&'static str>, Router)> {
    let mut routers = vec![("nextcloud-gss".to_owned(), None, gss::router(nextcloud.clone()))];
    if nextcloud.fault != Some(crate::Fault::NextcloudNodeDown) {
        for name in NODE_NAMES {
            let node = node::router(Arc::new(node::NodeState { name, nextcloud: nextcloud.clone() }));
            routers.push((format!("nextcloud-{name}"), Some(name), node));
        }
    }
    routers
}
