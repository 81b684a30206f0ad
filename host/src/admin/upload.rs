//! The body of `PUT /functions/{name}`: a bare component, or `multipart/form-data` with
//! a `module` part and an optional `config` part.

use crate::deploy::SettingsPatch;
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;

/// A deploy's payload.
#[derive(Debug)]
pub struct Upload {
    /// The component.
    pub module: Vec<u8>,
    /// Settings to change with it.
    pub settings: Option<SettingsPatch>,
}

/// Reads and parses the body; errors carry the status to answer with.
pub async fn read(
    headers: &HeaderMap,
    body: Incoming,
    limit: usize,
) -> Result<Upload, (StatusCode, String)> {
    let bytes = Limited::new(body, limit)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the upload is over the limit of {limit} bytes"),
                )
            } else {
                (
                    StatusCode::BAD_REQUEST,
                    format!("cannot read the body: {e}"),
                )
            }
        })?
        .to_bytes();
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    parse(content_type, bytes).await
}

/// Parses a whole body sent with `content_type`: `multipart/form-data` with `module` and
/// `config` parts, or else the component itself. Errors carry the status to answer with.
pub async fn parse(content_type: &str, bytes: Bytes) -> Result<Upload, (StatusCode, String)> {
    if content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        multipart(content_type, bytes).await
    } else if bytes.is_empty() {
        Err((
            StatusCode::BAD_REQUEST,
            "the body is empty: send the component (or multipart/form-data with `module` and `config` parts)".into(),
        ))
    } else {
        Ok(Upload {
            module: bytes.into(),
            settings: None,
        })
    }
}

async fn multipart(content_type: &str, bytes: Bytes) -> Result<Upload, (StatusCode, String)> {
    let bad = |message: String| (StatusCode::BAD_REQUEST, message);
    let boundary = multer::parse_boundary(content_type)
        .map_err(|e| bad(format!("multipart/form-data: {e}")))?;
    let stream =
        futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(bytes) });
    let mut parts = multer::Multipart::new(stream, boundary);
    let mut module = None;
    let mut settings = None;
    while let Some(field) = parts
        .next_field()
        .await
        .map_err(|e| bad(format!("multipart/form-data: {e}")))?
    {
        let name = field.name().unwrap_or_default().to_string();
        let data = field
            .bytes()
            .await
            .map_err(|e| bad(format!("multipart/form-data: part `{name}`: {e}")))?;
        match name.as_str() {
            "module" => module = Some(data.to_vec()),
            "config" => {
                settings = Some(SettingsPatch::parse(&data).map_err(|e| bad(e.to_string()))?);
            }
            other => {
                return Err(bad(format!(
                    "multipart/form-data: unexpected part `{other}` (expected `module` and `config`)"
                )));
            }
        }
    }
    let module = module.ok_or_else(|| bad("multipart/form-data: no `module` part".into()))?;
    Ok(Upload { module, settings })
}
