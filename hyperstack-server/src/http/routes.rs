//! Request → response, without I/O.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{
    HeaderValue, ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE,
};
use hyper::{Method, Request, Response, StatusCode};
use serde::Serialize;
use serde_json::json;

use super::HttpState;
use crate::health::StreamStatus;

/// The response type of every route.
pub(crate) type HttpResponse = Response<Full<Bytes>>;

const JSON: &str = "application/json";
const PROMETHEUS: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Answers one request; never fails, never panics.
pub(crate) async fn route<B>(state: &HttpState, req: &Request<B>) -> HttpResponse {
    let path = req.uri().path();
    let known = matches!(path, "/health" | "/ready" | "/views" | "/metrics");
    if !known {
        return json_response(StatusCode::NOT_FOUND, &json!({ "error": "not found" }));
    }
    if req.method() != Method::GET {
        let mut response = json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({ "error": "method not allowed" }),
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET"));
        return response;
    }
    let protected = matches!(path, "/views" | "/metrics");
    if protected && !authorized(state, req) {
        let mut response = json_response(
            StatusCode::UNAUTHORIZED,
            &json!({ "error": "missing or invalid token" }),
        );
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    match path {
        "/health" => health(state).await,
        "/ready" => ready(state).await,
        "/views" => json_response(StatusCode::OK, &*state.views),
        _ => response(
            StatusCode::OK,
            PROMETHEUS,
            Bytes::from(state.metrics.render_prometheus()),
        ),
    }
}

fn authorized<B>(state: &HttpState, req: &Request<B>) -> bool {
    let Some(token) = &state.metrics_token else {
        return true;
    };
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    crate::auth::Tokens::new(&[&**token]).accepts(crate::auth::bearer(header))
}

/// The failure, if a critical task failed.
fn failure(state: &HttpState) -> Option<crate::Failure> {
    state.failure.as_ref().and_then(|f| f.borrow().clone())
}

async fn health(state: &HttpState) -> HttpResponse {
    if let Some(f) = failure(state) {
        // Only the task's name: its error may name an endpoint.
        return json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({ "status": "failed", "task": f.task }),
        );
    }
    let mut body = json!({ "status": "ok" });
    if let Some(monitor) = &state.health {
        let mut snapshot = monitor.snapshot().await;
        snapshot.error = snapshot.error.as_deref().map(redact_endpoints);
        body["stream"] = serde_json::to_value(snapshot).unwrap_or_default();
    }
    json_response(StatusCode::OK, &body)
}

/// `text` with every URL (anything with `://`, e.g. an upstream endpoint with its query)
/// replaced by `<endpoint>`.
pub(crate) fn redact_endpoints(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            if word.contains("://") {
                "<endpoint>"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// 200 once the server is up and the stream is healthy (connected and not stale), or a
/// finite source has delivered everything (its final state is what is served).
async fn ready(state: &HttpState) -> HttpResponse {
    let reason = if let Some(f) = failure(state) {
        Some(format!("server failed: the {} task failed", f.task))
    } else if !state.ready.load(Ordering::Acquire) {
        Some("server is starting or stopping".to_string())
    } else if let Some(reason) = state.readiness.reason() {
        Some(reason)
    } else {
        match &state.health {
            None => None,
            Some(m) if m.is_healthy().await || m.is_completed().await => None,
            Some(m) => Some(match m.status().await {
                StreamStatus::Connected => {
                    "stream stale: no event within the health check timeout".to_string()
                }
                status => format!("stream {status}"),
            }),
        }
    };
    match reason {
        None => json_response(StatusCode::OK, &json!({ "ready": true })),
        Some(reason) => json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({ "ready": false, "reason": reason }),
        ),
    }
}

fn json_response<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> HttpResponse {
    match serde_json::to_vec(body) {
        Ok(bytes) => response(status, JSON, Bytes::from(bytes)),
        Err(err) => {
            tracing::error!(error = %err, "could not encode an HTTP response");
            response(
                StatusCode::INTERNAL_SERVER_ERROR,
                JSON,
                Bytes::from_static(br#"{"error":"internal error"}"#),
            )
        }
    }
}

fn response(status: StatusCode, content_type: &'static str, body: Bytes) -> HttpResponse {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use std::time::Duration;

    use http_body_util::BodyExt;

    use super::*;
    use crate::config::HealthConfig;
    use crate::health::HealthMonitor;
    use crate::http::{SortDescription, ViewDescription};
    use crate::metrics::Metrics;

    fn state(health: Option<HealthMonitor>) -> HttpState {
        HttpState {
            health,
            metrics: Arc::new(Metrics::new(vec!["Token/list".into()])),
            views: Arc::new(vec![ViewDescription {
                view: "Token/latest".into(),
                entity: "Token".into(),
                mode: "list".into(),
                sort: Some(SortDescription {
                    field: vec!["last_trade_slot".into()],
                    order: "desc".into(),
                }),
                fields: vec!["mint".into()],
            }]),
            ready: Arc::new(AtomicBool::new(false)),
            readiness: Arc::new(crate::ready::Readiness::ready()),
            metrics_token: None,
            failure: None,
        }
    }

    async fn call(state: &HttpState, method: Method, uri: &str) -> (StatusCode, String, String) {
        let req = Request::builder().method(method).uri(uri).body(()).unwrap();
        let resp = route(state, &req).await;
        let ct = resp.headers()[CONTENT_TYPE].to_str().unwrap().to_string();
        let status = resp.status();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, ct, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn routes_answer_with_status_and_content_type() {
        let s = state(None);
        let (st, ct, body) = call(&s, Method::GET, "/health?verbose=1").await;
        assert_eq!(
            (st, ct.as_str(), body.as_str()),
            (StatusCode::OK, JSON, r#"{"status":"ok"}"#)
        );
        let (st, _, body) = call(&s, Method::GET, "/views").await;
        assert_eq!(st, StatusCode::OK);
        let views: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(views[0]["sort"]["field"][0], "last_trade_slot");
        let (st, ct, body) = call(&s, Method::GET, "/metrics").await;
        assert_eq!((st, ct.as_str()), (StatusCode::OK, PROMETHEUS));
        assert!(body.contains("hyperstack_subscriptions{view=\"Token/list\"} 0"));
        let (st, _, body) = call(&s, Method::GET, "/nope").await;
        assert_eq!(
            (st, body.as_str()),
            (StatusCode::NOT_FOUND, r#"{"error":"not found"}"#)
        );
        let (st, ct, _) = call(&s, Method::DELETE, "/metrics").await;
        assert_eq!((st, ct.as_str()), (StatusCode::METHOD_NOT_ALLOWED, JSON));
        let (st, _, _) = call(&s, Method::POST, "/elsewhere").await;
        assert_eq!(st, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn ready_needs_the_flag_and_a_connected_stream() {
        let monitor = HealthMonitor::new(HealthConfig::new());
        let s = state(Some(monitor.clone()));
        let (st, _, body) = call(&s, Method::GET, "/ready").await;
        assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("starting or stopping"), "{body}");
        s.ready.store(true, Ordering::Release);
        let (st, _, body) = call(&s, Method::GET, "/ready").await;
        assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains(r#""reason":"stream disconnected""#), "{body}");
        monitor.set_status(StreamStatus::Connected).await;
        let (st, _, body) = call(&s, Method::GET, "/ready").await;
        assert_eq!((st, body.as_str()), (StatusCode::OK, r#"{"ready":true}"#));
        let (st, _, body) = call(&s, Method::GET, "/health").await;
        assert_eq!(st, StatusCode::OK);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (v["status"].as_str(), v["stream"]["status"].as_str()),
            (Some("ok"), Some("connected"))
        );
    }

    #[tokio::test]
    async fn ready_needs_a_fresh_stream_or_a_completed_source() {
        let monitor =
            HealthMonitor::new(HealthConfig::new().with_health_check_timeout(Duration::ZERO));
        let s = state(Some(monitor.clone()));
        s.ready.store(true, Ordering::Release);
        monitor.record_connection().await;
        // Connected, but silent for longer than the (zero) timeout: stale.
        let stale = async {
            loop {
                if monitor.is_stale().await {
                    return;
                }
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), stale)
            .await
            .unwrap();
        let (st, _, body) = call(&s, Method::GET, "/ready").await;
        assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("stale"), "{body}");
        monitor.record_completion().await;
        let (st, _, _) = call(&s, Method::GET, "/ready").await;
        assert_eq!(st, StatusCode::OK, "a finished replay stays ready");
    }

    #[tokio::test]
    async fn metrics_and_views_need_the_token_when_one_is_set() {
        let mut s = state(None);
        s.metrics_token = Some(Arc::from("m3trics"));
        for path in ["/metrics", "/views"] {
            let (st, _, body) = call(&s, Method::GET, path).await;
            assert_eq!(st, StatusCode::UNAUTHORIZED, "{path}: {body}");
            let req = Request::builder()
                .uri(path)
                .header("authorization", "Bearer wrong")
                .body(())
                .unwrap();
            assert_eq!(route(&s, &req).await.status(), StatusCode::UNAUTHORIZED);
            let req = Request::builder()
                .uri(path)
                .header("authorization", "Bearer m3trics")
                .body(())
                .unwrap();
            assert_eq!(route(&s, &req).await.status(), StatusCode::OK, "{path}");
        }
        let (st, _, _) = call(&s, Method::GET, "/health").await;
        assert_eq!(st, StatusCode::OK, "probes stay open");
        let (st, _, _) = call(&s, Method::GET, "/ready").await;
        assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "open, not ready yet");
    }

    #[tokio::test]
    async fn health_never_shows_endpoints_and_reports_a_failure() {
        let monitor = HealthMonitor::new(HealthConfig::new());
        monitor
            .record_error("connect to https://user:pw@grpc.example.com:443/?x-token=abc: refused")
            .await;
        let mut s = state(Some(monitor));
        let (st, _, body) = call(&s, Method::GET, "/health").await;
        assert_eq!(st, StatusCode::OK);
        assert!(
            !body.contains("example.com") && !body.contains("abc"),
            "{body}"
        );
        assert!(body.contains("connect to <endpoint> refused"), "{body}");
        let (tx, rx) = tokio::sync::watch::channel(None);
        s.failure = Some(rx);
        s.ready.store(true, Ordering::Release);
        tx.send_replace(Some(crate::Failure {
            task: "ingest",
            reason: "gave up on https://grpc.example.com".into(),
        }));
        let (st, _, body) = call(&s, Method::GET, "/health").await;
        assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body, r#"{"status":"failed","task":"ingest"}"#);
        let (st, _, body) = call(&s, Method::GET, "/ready").await;
        assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            body.contains("the ingest task failed") && !body.contains("example"),
            "{body}"
        );
    }
}
