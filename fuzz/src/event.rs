//! API Gateway events, as `portico invoke` reads them.

use http::StatusCode;
use portico::exchange::RequestBody;
use portico::gateway::payload::{ResponsePayload, ResponsePayloadV1, parse_event};

/// Parses the input as a payload 1.0 or 2.0 event and, when it is one, writes the
/// response event that would answer it (its headers and body echoed back).
///
/// # Panics
/// When an accepted event's request is not one Portico could have received (no method,
/// a body that is not whole), or when the response event does not read back as itself.
pub fn event(data: &[u8]) {
    let Ok(event) = parse_event(data) else {
        return;
    };
    let request = event.request;
    assert!(!request.method.as_str().is_empty(), "an empty method");
    let RequestBody::Full(body) = &request.body else {
        panic!("an event's body is whole");
    };
    let response = ResponsePayload::new(StatusCode::OK, &request.headers, body);
    let json = serde_json::to_vec(&response).expect("a response event serialises");
    let back: ResponsePayload = serde_json::from_slice(&json).expect("a response event reads back");
    assert_eq!(back, response);
    let response = ResponsePayloadV1::new(StatusCode::OK, &request.headers, body);
    let json = serde_json::to_vec(&response).expect("a 1.0 response event serialises");
    let back: ResponsePayloadV1 =
        serde_json::from_slice(&json).expect("a 1.0 response event reads back");
    assert_eq!(back, response);
}
