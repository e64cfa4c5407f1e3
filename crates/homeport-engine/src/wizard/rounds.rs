//! Round planning (docs/benchmarks.md#round-trips): requests that need no answer of each other
//! go out together, in one round the trace counts once. A round is planned as data — the requests,
//! where they go — and sent by one call; the path that planned it reads the answers. Two rules
//! bound what may share a round: credentials go only where they may go already (the typed server,
//! the same origin, an origin the person approved), and a request whose answer decides whether
//! the next may be sent at all (a redirect to approve, the user to confirm) is waited for.

use crate::address::ServerUrl;
use crate::error::ConnectError;
use crate::http::{Auth, HttpClient, HttpRequest, HttpResponse};
use crate::owncloud;
use crate::secret::Credentials;
use crate::trace::Participant;

/// ownCloud's verification at an instance: capabilities, the user and the avatar (asked for
/// under the login name, which ownCloud uses as the user id), all with the credentials.
pub(super) struct InstanceRound {
    pub instance: ServerUrl,
    capabilities: HttpRequest,
    user: HttpRequest,
    avatar: HttpRequest,
}

/// What an [`InstanceRound`] brought back.
pub(super) struct InstanceAnswers {
    pub instance: ServerUrl,
    pub capabilities: Result<HttpResponse, ConnectError>,
    pub user: Result<HttpResponse, ConnectError>,
    pub avatar: Result<HttpResponse, ConnectError>,
}

impl InstanceRound {
    pub fn plan(instance: ServerUrl, to: Participant, credentials: &Credentials) -> Self {
        let ocs = |path: &str| {
            owncloud::ocs_request(reqwest::Method::GET, instance.join(path), to, Auth::Basic(credentials.clone()))
        };
        InstanceRound {
            capabilities: ocs(owncloud::CAPABILITIES_PATH),
            user: ocs(owncloud::USER_PATH),
            avatar: avatar_request(&instance, to, credentials, &credentials.user),
            instance,
        }
    }

    /// Sends the three requests concurrently in `round` (beside whatever else the caller sends
    /// in it).
    pub async fn send(&self, http: &HttpClient, round: u32) -> InstanceAnswers {
        let (capabilities, user, avatar) = futures_util::future::join3(
            http.send(&self.capabilities, round),
            http.send(&self.user, round),
            http.send(&self.avatar, round),
        )
        .await;
        InstanceAnswers { instance: self.instance.clone(), capabilities, user, avatar }
    }
}

/// The avatar of user `id` at `instance`.
pub(super) fn avatar_request(
    instance: &ServerUrl,
    to: Participant,
    credentials: &Credentials,
    id: &str,
) -> HttpRequest {
    HttpRequest::new(reqwest::Method::GET, owncloud::avatar_url(instance, id), to)
        .auth(Auth::Basic(credentials.clone()))
}
