//! The chat example's web page, served by a function: `GET /chat` is a small HTML page,
//! `GET /chat/chat.js` its script, a client of the chat WebSocket API (`examples/chat`).
//! The page connects to the WebSocket path in its `ws` query parameter (default
//! `/ws`) on the host that served it, so it works behind any address or port.

use portico_guest::{Error, Request, Response};

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("chat.js");

/// The page runs only its own script and talks only to the host that served it.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'";

fn handle(req: Request) -> Result<Response, Error> {
    let page = match req.path().trim_end_matches('/') {
        p if p.ends_with("/chat.js") => Response::ok()
            .header("content-type", "text/javascript; charset=utf-8")
            .bytes(SCRIPT),
        _ => Response::ok().html(PAGE),
    };
    Ok(page
        .header("content-security-policy", POLICY)
        .header("x-content-type-options", "nosniff")
        .header("cache-control", "no-cache"))
}

portico_guest::export!(handle);
