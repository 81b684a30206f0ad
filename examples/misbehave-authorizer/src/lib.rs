//! A custom authorizer that decides by its first identity value, misbehaving on
//! purpose. The host must answer each case as documented and keep serving:
//!
//! | identity value | does | host answers |
//! |---|---|---|
//! | `allow:NAME` | allows, context `{"name": NAME}` | the route's function runs |
//! | `slow:NAME` | sleeps 300 ms, then allows like `allow:NAME` | the route's function runs |
//! | `trap` | panics (a wasm trap) | 500 |
//! | `error` | returns `Err` | 500 |
//! | `loop` | spins forever | 500 after the function's timeout |
//! | anything else | denies | 403 |

use portico_guest::authorizer::{AuthorizerRequest, Decision};
use std::hint::black_box;

fn authorize(req: AuthorizerRequest) -> Result<Decision, String> {
    let value = req.identity_source().first().cloned().unwrap_or_default();
    if let Some(name) = value.strip_prefix("allow:") {
        return Ok(Decision::allow()
            .with("name", name)
            .with("route", req.route_key()));
    }
    if let Some(name) = value.strip_prefix("slow:") {
        std::thread::sleep(std::time::Duration::from_millis(300));
        return Ok(Decision::allow().with("name", name));
    }
    match value.as_str() {
        "trap" => panic!("misbehave-authorizer: deliberate trap"),
        "error" => Err("misbehave-authorizer: deliberate error".to_string()),
        "loop" => {
            let mut n: u64 = 0;
            loop {
                n = black_box(n.wrapping_add(1));
            }
        }
        _ => Ok(Decision::deny()),
    }
}

portico_guest::export_authorizer!(authorize);
