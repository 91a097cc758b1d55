//! Snapshot frames written from stored entity JSON without parsing it into a tree: the
//! stored object (compact, as `serde_json` writes it) is split into its top-level fields,
//! the hidden ones are left out and the others copied as they are. The result is the same
//! text `serde_json` prints for the frame types of `frame` (tested below).

use std::collections::HashSet;

/// `{"mode":…,"entity":…,"op":"snapshot","data":[`: the start of every batch.
pub(super) fn head(mode: &str, view: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + view.len());
    out.extend_from_slice(b"{\"mode\":");
    string(&mut out, mode);
    out.extend_from_slice(b",\"entity\":");
    string(&mut out, view);
    out.extend_from_slice(b",\"op\":\"snapshot\",\"data\":[");
    out
}

/// `],"complete":…,"seq":"…"}`: the end of a batch.
pub(super) fn tail(complete: bool, seq: u64) -> Vec<u8> {
    format!("],\"complete\":{complete},\"seq\":\"{seq}\"}}").into_bytes()
}

/// Appends `{"key":…,"data":{…}}` with the fields of `stored` but the `hidden` ones. Returns
/// false, with `out` unchanged, when `stored` is not a compact JSON object with plain field
/// names (the caller then parses it).
pub(super) fn row(out: &mut Vec<u8>, key: &str, stored: &[u8], hidden: &HashSet<String>) -> bool {
    let start = out.len();
    out.extend_from_slice(b"{\"key\":");
    string(out, key);
    out.extend_from_slice(b",\"data\":{");
    let mut first = true;
    let ok = fields(stored, |name, field| {
        // `name` has no escapes (checked by `fields`), so it is the field's name itself.
        if std::str::from_utf8(name).is_ok_and(|n| hidden.contains(n)) {
            return;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend_from_slice(field);
    });
    if !ok {
        out.truncate(start);
        return false;
    }
    out.extend_from_slice(b"}}");
    true
}

fn string(out: &mut Vec<u8>, s: &str) {
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Calls `each(name, field)` for every top-level field of the compact JSON object `s`, with
/// `field` the whole `"name":value` text. False when `s` is not such an object, or a name has
/// an escape.
fn fields(s: &[u8], mut each: impl FnMut(&[u8], &[u8])) -> bool {
    let n = s.len();
    if n < 2 || s[0] != b'{' || s[n - 1] != b'}' {
        return false;
    }
    if n == 2 {
        return true;
    }
    let mut i = 1;
    loop {
        // A name: "…" without escapes.
        let field_start = i;
        if s.get(i) != Some(&b'"') {
            return false;
        }
        let Some(len) = s[i + 1..].iter().position(|&b| b == b'"') else {
            return false;
        };
        let name = &s[i + 1..i + 1 + len];
        if name.contains(&b'\\') {
            return false;
        }
        i += len + 2;
        if s.get(i) != Some(&b':') {
            return false;
        }
        i += 1;
        // The value: up to the `,` or `}` at depth 0, outside strings.
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        let end = loop {
            let Some(&b) = s.get(i) else { return false };
            if in_string {
                match (escaped, b) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_string = false,
                    _ => {}
                }
            } else {
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth == 0 => break i,
                    b'}' | b']' => depth -= 1,
                    b',' if depth == 0 => break i,
                    _ => {}
                }
            }
            i += 1;
        };
        if end == field_start + len + 3 {
            return false; // an empty value
        }
        each(name, &s[field_start..end]);
        match s[end] {
            b',' => i = end + 1,
            b'}' if end == n - 1 => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{json, Map, Value};

    use super::super::super::frame::{snapshot_frames, Emitted, SnapshotRow};
    use super::*;

    fn entity() -> Map<String, Value> {
        let v = json!({
            "mint": "Curve1", "name": "quote \" and \\ back, {brace} [bracket] ünï ✓",
            "n": 30_000_000_000u64, "neg": -5, "f": 2.795899e-5, "big": 1e300, "t": true,
            "none": null, "empty": {}, "list": [], "hidden": {"x": [1, {"y": "}"}]},
            "nested": {"a": [1, 2, {"b": "c,d"}], "e": {"f": null}},
            "_seq": "300:1",
        });
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn hidden() -> HashSet<String> {
        ["hidden".to_string(), "t".to_string()].into()
    }

    #[test]
    fn a_spliced_row_is_the_printed_row() {
        let obj = entity();
        let stored = serde_json::to_vec(&obj).expect("json");
        let hidden = hidden();
        let mut out = Vec::new();
        assert!(row(&mut out, "k\"ey", &stored, &hidden));
        let printed = serde_json::to_vec(&SnapshotRow {
            key: "k\"ey",
            data: Emitted {
                obj: &obj,
                hidden: &hidden,
                seq: None,
            },
        })
        .expect("json");
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&printed)
        );
    }

    #[test]
    fn spliced_frames_are_the_printed_frames() {
        let objs: Vec<Map<String, Value>> = (0..7)
            .map(|i| {
                let mut o = entity();
                o.insert("i".into(), json!(i));
                o
            })
            .collect();
        let keys: Vec<String> = (0..7).map(|i| format!("key{i}")).collect();
        let hidden = hidden();
        let rows = keys
            .iter()
            .zip(&objs)
            .map(|(key, obj)| SnapshotRow {
                key,
                data: Emitted {
                    obj,
                    hidden: &hidden,
                    seq: None,
                },
            })
            .collect();
        let printed = snapshot_frames("list", "Token/list", 42, rows, 2, 3);
        let mut spliced = Vec::new();
        for (chunk, last) in [(0..2, false), (2..5, false), (5..7, true)] {
            let mut json = head("list", "Token/list");
            for (n, i) in chunk.enumerate() {
                if n > 0 {
                    json.push(b',');
                }
                let stored = serde_json::to_vec(&objs[i]).expect("json");
                assert!(row(&mut json, &keys[i], &stored, &hidden));
            }
            json.extend_from_slice(&tail(last, 42));
            spliced.push(Arc::new(crate::project::EncodedFrame::from_json(json)));
        }
        assert_eq!(printed, spliced);
    }

    #[test]
    fn what_is_not_a_compact_object_is_refused_untouched() {
        let hidden = HashSet::new();
        for bad in [
            &b""[..],
            b"[]",
            b"{",
            b"{ \"a\":1}",
            b"{\"a\":1,}",
            b"{\"a\":}",
            b"{\"a\" :1}",
            b"{\"a\":1}x",
            b"{\"a\":\"unterminated}",
            b"{\"e\\u0041\":1}",
            b"{\"a\":1]",
        ] {
            let mut out = b"prefix".to_vec();
            assert!(
                !row(&mut out, "k", bad, &hidden),
                "{}",
                String::from_utf8_lossy(bad)
            );
            assert_eq!(out, b"prefix");
        }
        let mut out = Vec::new();
        assert!(row(&mut out, "k", b"{}", &hidden));
        assert_eq!(out, br#"{"key":"k","data":{}}"#);
    }
}
