//! Token metadata from a DAS-compatible JSON-RPC endpoint: the `getAsset` request for a mint
//! and what its answer means.
//!
//! A mint's metadata is `{name, symbol, decimals, image}` (each null when the asset lacks it):
//! `content.metadata.name`, `content.metadata.symbol` (else `token_info.symbol`),
//! `token_info.decimals`, `content.links.image` (else the first of `content.files`' URIs).

use serde_json::{json, Value as Json};

/// What an answer means.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Answer {
    /// The asset's metadata.
    Found(Json),
    /// The endpoint knows no such asset (a definite answer: not retried).
    NotFound,
    /// The request failed (HTTP error, JSON-RPC error, unreadable answer): retried.
    Failed(String),
}

/// Whether `input` is a mint address (base58 of 32 bytes).
pub(crate) fn is_address(input: &str) -> bool {
    bs58::decode(input)
        .into_vec()
        .is_ok_and(|bytes| bytes.len() == 32)
}

/// The JSON-RPC request body of `getAsset` for `mint`.
pub(crate) fn request_body(id: u64, mint: &str) -> Vec<u8> {
    let body = json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "getAsset",
        "params": { "id": mint },
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

fn text(v: Option<&Json>) -> Json {
    match v.and_then(Json::as_str).map(str::trim) {
        Some(s) if !s.is_empty() => Json::from(s),
        _ => Json::Null,
    }
}

/// The metadata of a `getAsset` result.
pub(crate) fn metadata(result: &Json) -> Json {
    let content = result.get("content");
    let meta = content.and_then(|c| c.get("metadata"));
    let token = result.get("token_info");
    let symbol = match text(meta.and_then(|m| m.get("symbol"))) {
        Json::Null => text(token.and_then(|t| t.get("symbol"))),
        s => s,
    };
    let decimals = token
        .and_then(|t| t.get("decimals"))
        .and_then(Json::as_u64)
        .and_then(|d| u8::try_from(d).ok())
        .map_or(Json::Null, Json::from);
    let image = match text(
        content
            .and_then(|c| c.get("links"))
            .and_then(|l| l.get("image")),
    ) {
        Json::Null => text(
            content
                .and_then(|c| c.get("files"))
                .and_then(|f| f.get(0))
                .and_then(|f| f.get("uri")),
        ),
        i => i,
    };
    json!({
        "name": text(meta.and_then(|m| m.get("name"))),
        "symbol": symbol,
        "decimals": decimals,
        "image": image,
    })
}

/// JSON-RPC's "method not found" code.
const METHOD_NOT_FOUND: i64 = -32601;

/// Reads an HTTP answer (`status`, `body`) to `getAsset`.
pub(crate) fn parse_answer(status: u16, body: &[u8]) -> Answer {
    if !(200..300).contains(&status) {
        return Answer::Failed(format!("HTTP status {status}"));
    }
    let Ok(reply) = serde_json::from_slice::<Json>(body) else {
        return Answer::Failed("the answer is not JSON".into());
    };
    if let Some(error) = reply.get("error") {
        let message = error
            .get("message")
            .and_then(Json::as_str)
            .unwrap_or_default();
        let code = error.get("code").and_then(Json::as_i64).unwrap_or(0);
        if code == METHOD_NOT_FOUND {
            return Answer::Failed("the endpoint has no `getAsset` (is it a DAS endpoint?)".into());
        }
        if message.to_ascii_lowercase().contains("not found") {
            return Answer::NotFound;
        }
        let message: String = message.chars().take(200).collect();
        return Answer::Failed(format!("JSON-RPC error {code}: {message}"));
    }
    match reply.get("result") {
        Some(Json::Null) => Answer::NotFound,
        Some(result @ Json::Object(_)) => Answer::Found(metadata(result)),
        _ => Answer::Failed("the answer has no `result`".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: Json) -> Answer {
        parse_answer(200, body.to_string().as_bytes())
    }

    #[test]
    fn reads_a_fungible_asset() {
        let result = json!({
            "interface": "FungibleToken",
            "id": "oreoU2P8bN6jkk3jbaiVxYnG1dCXcYxwhwyK9jSybcp",
            "content": {
                "metadata": {"name": "Ore", "symbol": "ORE"},
                "links": {"image": "https://ore.supply/icon.png"},
                "files": [{"uri": "https://cdn/x.png"}]
            },
            "token_info": {"decimals": 11, "symbol": "ORE", "supply": 1}
        });
        assert_eq!(
            answer(json!({"jsonrpc": "2.0", "id": 1, "result": result})),
            Answer::Found(json!({
                "name": "Ore", "symbol": "ORE", "decimals": 11,
                "image": "https://ore.supply/icon.png"
            }))
        );
        // Fallbacks: the token symbol, the first file; missing parts are null.
        let sparse = json!({
            "content": {"metadata": {"name": " "}, "files": [{"uri": "https://f/1.png"}]},
            "token_info": {"symbol": "X", "decimals": 300}
        });
        assert_eq!(
            metadata(&sparse),
            json!({"name": null, "symbol": "X", "decimals": null, "image": "https://f/1.png"})
        );
    }

    #[test]
    fn tells_missing_assets_from_failures() {
        assert_eq!(
            answer(json!({"error": {"code": -32000, "message": "Asset Not Found"}})),
            Answer::NotFound
        );
        assert_eq!(answer(json!({"result": null})), Answer::NotFound);
        assert!(
            matches!(
                answer(json!({"error": {"code": -32601, "message": "Method not found"}})),
                Answer::Failed(m) if m.contains("DAS endpoint")
            ),
            "a missing method is no missing asset"
        );
        assert_eq!(
            answer(json!({"error": {"code": -32603, "message": "internal"}})),
            Answer::Failed("JSON-RPC error -32603: internal".into())
        );
        assert_eq!(
            parse_answer(429, b"slow down"),
            Answer::Failed("HTTP status 429".into())
        );
        assert!(matches!(parse_answer(200, b"<html>"), Answer::Failed(_)));
        assert!(matches!(answer(json!({"id": 1})), Answer::Failed(_)));
    }

    #[test]
    fn builds_the_request_and_checks_addresses() {
        let body: Json = serde_json::from_slice(&request_body(7, "Mint")).unwrap();
        assert_eq!(body["method"], "getAsset");
        assert_eq!(body["params"]["id"], "Mint");
        assert_eq!(body["id"], 7);
        assert!(is_address("oreoU2P8bN6jkk3jbaiVxYnG1dCXcYxwhwyK9jSybcp"));
        assert!(!is_address("not-an-address"));
        assert!(!is_address("1111"));
    }
}
