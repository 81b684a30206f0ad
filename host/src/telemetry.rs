//! Where logs and spans go: stderr (human or JSON lines, filtered by `RUST_LOG`), and, when
//! the manifest's `[telemetry] otlp = true` and the binary has the `otlp` cargo feature, an
//! OpenTelemetry collector over OTLP/HTTP.
//!
//! The exporter batches spans on its own thread (wasmtime and the request path never wait
//! for the collector); [`shutdown`] flushes what is left when the process ends.

use serde::Deserialize;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// A layer of the global subscriber.
type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// `[telemetry]`: OpenTelemetry export of the request spans (OTLP over HTTP).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TelemetryConfig {
    /// Export spans over OTLP (needs a build with the `otlp` cargo feature).
    pub otlp: bool,
    /// The collector's base URL; `/v1/traces` is appended. Default: the
    /// `OTEL_EXPORTER_OTLP_*` environment, else `http://localhost:4318`.
    pub endpoint: Option<String>,
    /// Wire format.
    pub protocol: OtlpProtocol,
    /// `service.name` of the exported resource.
    pub service_name: String,
}

/// OTLP/HTTP encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum OtlpProtocol {
    /// Binary protobuf (what collectors expect by default).
    #[default]
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    /// JSON.
    #[serde(rename = "http/json")]
    HttpJson,
}

/// Installs the global subscriber: logs on stderr (JSON lines if `json`), and spans to
/// OTLP if `telemetry` asks for it. The level comes from `RUST_LOG` (default `info`).
pub fn init(json: bool, telemetry: Option<&TelemetryConfig>) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let mut layers: Vec<BoxedLayer> = vec![if json {
        fmt.json().flatten_event(true).boxed()
    } else {
        fmt.boxed()
    }];
    if let Some(config) = telemetry.filter(|t| t.otlp) {
        layers.push(otlp::layer(config)?);
    }
    tracing_subscriber::registry()
        .with(layers.with_filter(filter))
        .try_init()?;
    if let Some(config) = telemetry.filter(|t| t.otlp) {
        tracing::info!(
            endpoint = config.endpoint.as_deref().unwrap_or("(OTEL_EXPORTER_OTLP_* or localhost:4318)"),
            protocol = ?config.protocol,
            "exporting spans over OTLP"
        );
    }
    Ok(())
}

/// Flushes and stops the span exporter, if one runs.
pub fn shutdown() {
    otlp::shutdown();
}

#[cfg(feature = "otlp")]
mod otlp {
    use super::BoxedLayer;
    use super::{OtlpProtocol, TelemetryConfig};
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::{Protocol, WithExportConfig as _};
    use opentelemetry_sdk::Resource;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use std::sync::OnceLock;
    use tracing_subscriber::Layer as _;

    static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

    /// The tracing layer that turns spans into OpenTelemetry spans for the exporter.
    pub fn layer(config: &TelemetryConfig) -> anyhow::Result<BoxedLayer> {
        let protocol = match config.protocol {
            OtlpProtocol::HttpProtobuf => Protocol::HttpBinary,
            OtlpProtocol::HttpJson => Protocol::HttpJson,
        };
        let mut exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(protocol);
        if let Some(endpoint) = &config.endpoint {
            exporter =
                exporter.with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')));
        }
        let exporter = exporter
            .build()
            .map_err(|e| anyhow::anyhow!("telemetry: cannot build the OTLP exporter: {e}"))?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(
                Resource::builder()
                    .with_service_name(config.service_name.clone())
                    .build(),
            )
            .build();
        let tracer = provider.tracer("portico");
        let _ = PROVIDER.set(provider);
        Ok(tracing_opentelemetry::layer().with_tracer(tracer).boxed())
    }

    /// Flushes what is batched and stops the exporter.
    pub fn shutdown() {
        if let Some(provider) = PROVIDER.get()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("telemetry: flushing spans failed: {e}");
        }
    }
}

#[cfg(not(feature = "otlp"))]
mod otlp {
    use super::BoxedLayer;
    use super::TelemetryConfig;

    /// Without the feature there is no exporter: say how to get one.
    pub fn layer(_: &TelemetryConfig) -> anyhow::Result<BoxedLayer> {
        anyhow::bail!(
            "the manifest sets `[telemetry] otlp = true`, but this portico was built without the \
             `otlp` feature; build it with `cargo build --release -p portico --features otlp`, \
             or set `otlp = false`"
        )
    }

    /// Nothing to flush.
    pub fn shutdown() {}
}
