//! Logging set-up: `RUST_LOG` filters (default `info`), `JSON_LOGS=true` switches to JSON lines.
//! With the `otel` cargo feature and `OTEL_EXPORTER_OTLP_ENDPOINT` set, traces and the
//! server's metrics are also exported over OTLP/gRPC (`OTEL_SERVICE_NAME`, default
//! `hyperstack-server`).

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Installs the global tracing subscriber. Safe to call twice (the second call does nothing).
/// With the `otel` feature it must run inside a tokio runtime (the exporters need one).
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("JSON_LOGS").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = if json {
        fmt.json().boxed()
    } else {
        fmt.boxed()
    };
    let registry = tracing_subscriber::registry().with(filter).with(fmt);
    #[cfg(feature = "otel")]
    let registry = registry.with(otel::layer());
    let _ = registry.try_init();
}

/// Flushes exported telemetry (no-op without the `otel` feature).
pub fn flush_telemetry() {
    #[cfg(feature = "otel")]
    otel::flush();
}

#[cfg(feature = "otel")]
pub(crate) use otel::export_metrics;

#[cfg(feature = "otel")]
mod otel {
    use std::sync::{Arc, OnceLock};

    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry::KeyValue;
    use opentelemetry_otlp::WithExportConfig;
    use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use opentelemetry_sdk::Resource;
    use tracing_subscriber::Layer;

    use crate::metrics::Metrics;

    struct Providers {
        traces: SdkTracerProvider,
        metrics: SdkMeterProvider,
    }

    static PROVIDERS: OnceLock<Providers> = OnceLock::new();

    fn endpoint() -> Option<String> {
        std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty())
    }

    fn resource() -> Resource {
        let name = std::env::var("OTEL_SERVICE_NAME")
            .ok()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "hyperstack-server".to_string());
        Resource::builder().with_service_name(name).build()
    }

    fn providers() -> Option<&'static Providers> {
        if let Some(p) = PROVIDERS.get() {
            return Some(p);
        }
        let endpoint = endpoint()?;
        let spans = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()
            .map_err(|e| eprintln!("OTLP trace exporter for {endpoint}: {e}"))
            .ok()?;
        let metrics = opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()
            .map_err(|e| eprintln!("OTLP metric exporter for {endpoint}: {e}"))
            .ok()?;
        let traces = SdkTracerProvider::builder()
            .with_batch_exporter(spans)
            .with_resource(resource())
            .build();
        let metrics = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(metrics).build())
            .with_resource(resource())
            .build();
        let _ = PROVIDERS.set(Providers { traces, metrics });
        PROVIDERS.get()
    }

    /// The OTLP tracing layer, when an endpoint is configured.
    pub(super) fn layer<S>() -> Option<Box<dyn Layer<S> + Send + Sync>>
    where
        S: tracing::Subscriber
            + for<'a> tracing_subscriber::registry::LookupSpan<'a>
            + Send
            + Sync
            + 'static,
    {
        let p = providers()?;
        let tracer = p.traces.tracer("hyperstack-server");
        Some(tracing_opentelemetry::layer().with_tracer(tracer).boxed())
    }

    /// Exports the server's counters as OTLP metrics (observed at each export).
    pub(crate) fn export_metrics(metrics: Arc<Metrics>) {
        let Some(p) = providers() else { return };
        let meter = p.metrics.meter("hyperstack-server");
        let m = metrics.clone();
        let _clients = meter
            .u64_observable_gauge("hyperstack_websocket_clients")
            .with_description("Connected WebSocket clients")
            .with_callback(move |o| o.observe(m.clients(), &[]))
            .build();
        let m = metrics.clone();
        let _frames = meter
            .u64_observable_counter("hyperstack_frames_sent_total")
            .with_description("Frames written to clients")
            .with_callback(move |o| o.observe(m.frames_sent(), &[]))
            .build();
        let m = metrics.clone();
        let _bytes = meter
            .u64_observable_counter("hyperstack_bytes_sent_total")
            .with_description("Bytes written to clients")
            .with_callback(move |o| o.observe(m.bytes_sent(), &[]))
            .build();
        let m = metrics.clone();
        let _dropped = meter
            .u64_observable_counter("hyperstack_clients_dropped_lagging_total")
            .with_description("Clients dropped because their queue was full")
            .with_callback(move |o| o.observe(m.clients_dropped_lagging(), &[]))
            .build();
        let m = metrics.clone();
        let _ingest = meter
            .u64_observable_counter("hyperstack_ingest_events_total")
            .with_description("Mutations applied")
            .with_callback(move |o| o.observe(m.ingest_events(), &[]))
            .build();
        let m = metrics;
        let _subs = meter
            .u64_observable_gauge("hyperstack_subscriptions")
            .with_description("Subscriptions per view")
            .with_callback(move |o| {
                for (i, view) in m.view_names().iter().enumerate() {
                    o.observe(m.subscriptions(i), &[KeyValue::new("view", view.clone())]);
                }
            })
            .build();
    }

    /// Flushes and stops the exporters.
    pub(super) fn flush() {
        if let Some(p) = PROVIDERS.get() {
            let _ = p.traces.force_flush();
            let _ = p.metrics.force_flush();
        }
    }
}
