//! Routes that misbehave on purpose. The host must answer each with its documented error
//! and keep serving:
//!
//! | route | does | host answers |
//! |---|---|---|
//! | `GET /trap` | panics (a wasm trap) | 500 |
//! | `GET /error` | returns `Err` | 500 |
//! | `GET /loop` | spins forever | 503 after the timeout |
//! | `GET /oom` | allocates without bound | 500 |
//! | `GET /stack` | recurses without bound (the wasm stack overflows) | 500 |
//! | `GET /data-loop?table=T` | reads from table `T` in a tight loop, forever | 503 after the timeout |
//! | `GET /huge` | returns a body over the response limit | 500 |
//! | `GET /bad-status` | returns status 999 | 500 |
//! | `GET /bad-header` | returns a header name with a space | 500 |
//! | `GET /print` | writes to stdout and stderr, then answers 200 | 200 |
//! | `GET /sleep?ms=N` | sleeps N ms, then answers 200 | 200 |
//! | `GET /env` | answers with its environment and whether it can see files | 200 |

use portico_guest::data::{Table, key};
use portico_guest::{Request, Response, http::StatusCode};
use std::hint::black_box;

/// Recurses until the stack runs out, with a frame big enough to get there quickly.
#[allow(unconditional_recursion)] // The point.
fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth; 64]);
    black_box(recurse(black_box(depth + 1))).wrapping_add(frame[(depth % 64) as usize])
}

fn handle(req: Request) -> Result<Response, String> {
    match req.path() {
        "/trap" => panic!("misbehave: deliberate trap"),
        "/error" => Err("misbehave: deliberate error".to_string()),
        "/loop" => {
            let mut n: u64 = 0;
            loop {
                n = black_box(n.wrapping_add(1));
            }
        }
        "/oom" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(black_box(vec![1u8; 1 << 20]));
            }
        }
        "/stack" => Ok(Response::ok().text(recurse(0).to_string())),
        "/data-loop" => {
            let name = req.query("table").unwrap_or("spins").to_string();
            let table = Table::open(&name).map_err(|e| e.to_string())?;
            loop {
                // Each call is a host call; its answer (an item, none, or an error) is
                // beside the point.
                let _ = black_box(table.get(key("id", "x")).send());
            }
        }
        "/huge" => {
            let size: usize = req
                .query("bytes")
                .and_then(|b| b.parse().ok())
                .unwrap_or(7 << 20);
            Ok(Response::ok().bytes(vec![b'x'; size]))
        }
        "/bad-status" => Ok(Response::new(
            StatusCode::from_u16(999).map_err(|e| e.to_string())?,
        )),
        "/bad-header" => Ok(Response::ok().header("bad name", "v")),
        "/print" => {
            println!("to stdout");
            eprintln!("to stderr");
            Ok(Response::ok().text("printed"))
        }
        "/sleep" => {
            let ms: u64 = req.query("ms").and_then(|m| m.parse().ok()).unwrap_or(100);
            std::thread::sleep(std::time::Duration::from_millis(ms));
            Ok(Response::ok().text(format!("slept {ms}ms")))
        }
        "/env" => {
            let vars: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
            let fs = std::fs::read_dir("/").is_ok() || std::fs::read_dir(".").is_ok();
            Ok(Response::ok().text(format!("env={}\nfs={fs}\n", vars.join(","))))
        }
        other => Ok(Response::not_found().text(format!("no misbehaviour at {other}"))),
    }
}

portico_guest::export!(handle);
