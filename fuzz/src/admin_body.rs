//! Bodies of the admin API's `PUT /functions/{name}`.

use bytes::Bytes;
use portico::admin::upload::{self, Upload};
use portico::deploy::{Settings, SettingsPatch};
use portico::runtime::Limits;
use std::sync::OnceLock;
use tokio::runtime::Runtime;

/// The boundary the multipart inputs use (the seeds spell their parts with it).
pub const BOUNDARY: &str = "portico-fuzz";

/// The first byte picks how the rest is sent: `multipart/form-data` with [`BOUNDARY`],
/// a bare component, or a `config` part's JSON alone. A settings patch that parses is
/// applied to a function's settings, as a deploy would.
///
/// # Panics
/// When a refusal carries a success status or no reason, or when applying an accepted
/// patch panics or gives settings that break the limits it was checked against.
pub fn admin_body(data: &[u8]) {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    if kind % 3 == 2 {
        if let Ok(patch) = SettingsPatch::parse(rest) {
            apply(&patch);
        }
        return;
    }
    let content_type = if kind % 3 == 0 {
        format!("multipart/form-data; boundary={BOUNDARY}")
    } else {
        "application/wasm".to_string()
    };
    let body = Bytes::copy_from_slice(rest);
    match runtime().block_on(upload::parse(&content_type, body)) {
        Ok(Upload { module, settings }) => {
            if kind % 3 == 1 {
                assert_eq!(module, rest, "a bare component is the body itself");
            }
            if let Some(patch) = settings {
                apply(&patch);
            }
        }
        Err((status, message)) => {
            assert!(status.is_client_error(), "refused with {status}: {message}");
            assert!(!message.is_empty(), "refused with {status} and no reason");
        }
    }
}

fn apply(patch: &SettingsPatch) {
    const MAX_MEMORY: u64 = 256 << 20;
    let live = Settings {
        limits: Limits::default(),
        environment: [("GREETING".to_string(), "hi".to_string())].into(),
        routes: vec!["GET /hello".parse().expect("a route key")],
    };
    if let Ok(next) = patch.apply(&live, MAX_MEMORY) {
        assert!(
            next.limits.memory_bytes <= MAX_MEMORY,
            "memory {} past the pool's {MAX_MEMORY}",
            next.limits.memory_bytes
        );
        let _ = next.to_stored();
    }
}

/// One current-thread runtime for every input (the parser is async only because
/// `multer` is; it does no I/O).
fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime")
    })
}
