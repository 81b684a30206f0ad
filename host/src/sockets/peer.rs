//! Host-to-host calls for connections held by another host: the owner's peer endpoint,
//! `/@peer/connections/{id}` on its admin listener (`POST` a message, `GET` the
//! connection's details, `DELETE` to close it), which acts on that host's own
//! connections only — so a call is never forwarded twice.
//!
//! The endpoint takes one credential, derived from the admin token the hosts share
//! (HMAC-SHA256 of a fixed label keyed by the token): a host holding it can reach other
//! hosts' connections and nothing else, and the admin token itself never travels to
//! an address read from the data store.

use super::{ConnectionInfo, Outgoing, SocketError};
use std::time::Duration;

/// The path prefix of the peer endpoint.
pub const PATH: &str = "/@peer/connections/";
/// The header saying whether a posted body is a text or a binary frame.
pub const FRAME_HEADER: &str = "x-portico-frame";
/// How long a host waits to reach another one.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a whole peer call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The credential of the peer endpoint. Its `Debug` leaves the value out.
#[derive(Clone, PartialEq, Eq)]
pub struct PeerCredential(String);

impl std::fmt::Debug for PeerCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PeerCredential(<redacted>)")
    }
}

impl PeerCredential {
    /// The credential of hosts whose admin token is `admin_token`.
    pub fn derive(admin_token: &str) -> PeerCredential {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, admin_token.as_bytes());
        let tag = ring::hmac::sign(&key, b"portico peer connections v1");
        PeerCredential(tag.as_ref().iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The value a peer sends as its bearer token.
    pub fn as_bearer(&self) -> &str {
        &self.0
    }

    /// Whether `presented` (a bearer token) is this credential, compared in constant
    /// time.
    pub fn accepts(&self, presented: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), presented.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// A client of other hosts' peer endpoints.
#[derive(Debug, Clone)]
pub struct PeerClient {
    http: reqwest::Client,
    credential: PeerCredential,
}

/// What a peer call's failure means.
#[derive(Debug)]
pub(super) enum PeerError {
    /// The owner answered that the connection is gone, or does not answer at all (a
    /// host that is down holds no connections).
    Gone,
    /// Anything else, said for the caller.
    Failed(SocketError),
}

impl PeerClient {
    /// A client presenting `credential`.
    pub fn new(credential: PeerCredential) -> Result<PeerClient, reqwest::Error> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(CALL_TIMEOUT)
            .build()?;
        Ok(PeerClient { http, credential })
    }

    fn url(owner: &str, id: &str) -> String {
        let id = percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC);
        format!("{}{PATH}{id}", owner.trim_end_matches('/'))
    }

    async fn call(
        &self,
        request: reqwest::RequestBuilder,
        owner: &str,
    ) -> Result<reqwest::Response, PeerError> {
        let response = request
            .bearer_auth(self.credential.as_bearer())
            .send()
            .await
            .map_err(|e| {
                // Refused: nothing listens there, so the host is down, and its
                // connections with it. A host that is slow to answer may still hold it.
                if e.is_connect() && !e.is_timeout() {
                    PeerError::Gone
                } else {
                    PeerError::Failed(SocketError::Unavailable(format!(
                        "the host holding the connection ({owner}) did not answer: {e}"
                    )))
                }
            })?;
        match response.status().as_u16() {
            200..=299 => Ok(response),
            410 => Err(PeerError::Gone),
            413 | 400 => Err(PeerError::Failed(SocketError::Invalid(
                message(response).await,
            ))),
            status => Err(PeerError::Failed(SocketError::Unavailable(format!(
                "the host holding the connection ({owner}) answered {status}: {}",
                message(response).await
            )))),
        }
    }

    /// Sends `message` to connection `id` on `owner`.
    pub(super) async fn post(
        &self,
        owner: &str,
        id: &str,
        message: Outgoing,
    ) -> Result<(), PeerError> {
        let (frame, body) = match message {
            Outgoing::Text(text) => ("text", text.into_bytes()),
            Outgoing::Binary(bytes) => ("binary", bytes),
        };
        let request = self
            .http
            .post(Self::url(owner, id))
            .header(FRAME_HEADER, frame)
            .body(body);
        self.call(request, owner).await.map(|_| ())
    }

    /// Connection `id`'s details, from `owner`.
    pub(super) async fn get(&self, owner: &str, id: &str) -> Result<ConnectionInfo, PeerError> {
        let response = self
            .call(self.http.get(Self::url(owner, id)), owner)
            .await?;
        response.json::<ConnectionInfo>().await.map_err(|e| {
            PeerError::Failed(SocketError::Unavailable(format!(
                "the host holding the connection ({owner}) answered what is not a connection: {e}"
            )))
        })
    }

    /// Closes connection `id` on `owner`.
    pub(super) async fn close(&self, owner: &str, id: &str) -> Result<(), PeerError> {
        self.call(self.http.delete(Self::url(owner, id)), owner)
            .await
            .map(|_| ())
    }
}

/// The `message` of an error body, or the body itself.
async fn message(response: reqwest::Response) -> String {
    let text = response.text().await.unwrap_or_default();
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credential_depends_on_the_token_and_is_not_it() {
        let a = PeerCredential::derive("token-a");
        assert_eq!(a, PeerCredential::derive("token-a"));
        assert_ne!(a, PeerCredential::derive("token-b"));
        assert!(!a.0.contains("token-a"));
        assert_eq!(a.0.len(), 64);
        assert!(a.accepts(&a.0.clone()));
        assert!(!a.accepts("token-a"));
        assert!(!a.accepts(""));
        assert_eq!(format!("{a:?}"), "PeerCredential(<redacted>)");
    }
}
