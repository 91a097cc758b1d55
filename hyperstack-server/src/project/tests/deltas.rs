//! Append views' delta encoding: the `patch` of the same change under the same `seq`, equal
//! to the full `upsert` once merged, kept by the resume log (across a restart too).

use std::collections::HashMap;

use bytes::Bytes;

use super::*;
use crate::store::{DataLocation, Identity, Store, StoreConfig};
use hyperstack_spec::wire::{self, AppendCaps};

/// The published frame of one view (exactly one expected).
fn one(out: &[Published], view: ViewId) -> &Published {
    let mut of = out.iter().filter(|p| p.view == view);
    let p = of.next().expect("a frame of the view");
    assert!(of.next().is_none(), "one frame of the view");
    p
}

#[test]
fn an_append_delta_is_the_patch_of_the_same_seq() {
    let mut p = projector();
    let append = id(&p, "Token/append");
    let first = apply(&mut p, patch("t", json!({"name": "A", "trade_count": 1})));
    assert!(
        one(&first, append).delta.is_none(),
        "an entity's first frame has no delta: every client takes it whole"
    );
    let out = apply(
        &mut p,
        patch(
            "t",
            json!({"last_trades": [{"sol": 2}], "trade_count": 2, "token_total_supply": 9}),
        )
        .with_append(&["last_trades"])
        .with_seq("3:4"),
    );
    let published = one(&out, append);
    assert_eq!(published.seq, 2);
    assert_eq!(
        published.frame.json().unwrap(),
        json!({"mode": "append", "entity": "Token/append", "op": "upsert", "key": "t",
               "data": {"name": "A", "trade_count": 2, "last_trades": [{"sol": 2}], "_seq": "3:4"},
               "seq": "2"})
    );
    let delta = published.delta.as_ref().expect("a delta").json().unwrap();
    assert_eq!(
        delta,
        json!({"mode": "append", "entity": "Token/append", "op": "patch", "key": "t",
               "data": {"last_trades": [{"sol": 2}], "trade_count": 2, "_seq": "3:4"},
               "append": ["last_trades"], "seq": "2"}),
        "same seq; the hidden field is left out, as from the full frame"
    );
    // Other views carry no delta: their patches are their frames already.
    assert!(out
        .iter()
        .filter(|p| p.view != append)
        .all(|p| p.delta.is_none()));
    // A delete has no delta either.
    let gone = apply(&mut p, Mutation::delete("Token", "t"));
    assert!(one(&gone, append).delta.is_none());
}

/// A client of the append view: holds each key's entity as its frames leave it.
#[derive(Default)]
struct Client {
    rows: HashMap<String, Map<String, Value>>,
}

impl Client {
    /// Applies one frame as docs/PROTOCOL.md says (upsert replaces, patch merges, delete
    /// removes).
    fn apply(&mut self, frame: &EncodedFrame, caps: &AppendCaps) {
        let f = frame.json().unwrap();
        let key = f["key"].as_str().unwrap().to_string();
        match f["op"].as_str().unwrap() {
            "upsert" => {
                self.rows.insert(key, obj(f["data"].clone()));
            }
            "patch" => {
                let append: Vec<String> = f["append"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|p| p.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                let row = self
                    .rows
                    .get_mut(&key)
                    .expect("a delta only for a held key");
                wire::merge(row, &obj(f["data"].clone()), &append, caps);
            }
            "delete" => {
                self.rows.remove(&key);
            }
            op => panic!("unexpected op {op}"),
        }
    }
}

/// The caps a client learns from `subscribed`.
fn announced(p: &Projector, view: ViewId) -> AppendCaps {
    let sub = p.subscribed_frame(view, false).json().unwrap();
    let mut caps = AppendCaps::new(sub["append_default_cap"].as_u64().unwrap() as usize);
    for (path, cap) in sub["append_caps"].as_object().unwrap() {
        caps.set(path.clone(), cap.as_u64().unwrap() as usize);
    }
    caps
}

/// Mutations of three tokens: appends beyond the cap of 20, nested and hidden fields, an
/// explicit null, a reset of the appended field, a delete and the key's return.
fn workload() -> Vec<Mutation> {
    let mut out = Vec::new();
    for i in 0..90u64 {
        let key = ["a", "b", "c"][(i % 3) as usize];
        let mut m = match i {
            40 => patch(key, json!({"last_trades": null, "complete": null})),
            61 => Mutation::delete("Token", key),
            _ => patch(
                key,
                json!({"last_trades": [{"n": i}, {"n": i + 1000}], "trade_count": i,
                       "token_total_supply": i, "stats": {"rank": i % 7}}),
            )
            .with_append(&["last_trades"]),
        };
        if i % 2 == 0 {
            m = m.with_seq(format!("{}:{}", 100 + i, i % 5));
        }
        out.push(m);
    }
    out
}

#[test]
fn merging_deltas_gives_the_full_entity_at_every_frame() {
    let mut p = projector();
    let append = id(&p, "Token/append");
    let caps = announced(&p, append);
    let (mut full, mut delta) = (Client::default(), Client::default());
    let mut deltas = 0;
    for m in workload() {
        for published in apply(&mut p, m).iter().filter(|p| p.view == append) {
            full.apply(&published.frame, &caps);
            let held = delta.rows.contains_key(&*published.key);
            match (&published.delta, held) {
                (Some(d), true) => {
                    deltas += 1;
                    delta.apply(d, &caps);
                }
                _ => delta.apply(&published.frame, &caps),
            }
            assert_eq!(delta.rows, full.rows, "after frame {}", published.seq);
        }
    }
    assert!(deltas > 70, "{deltas} deltas");
    let a = &full.rows["a"];
    assert_eq!(
        a["last_trades"].as_array().unwrap().len(),
        20,
        "the cap held"
    );
    assert!(
        a.get("token_total_supply").is_none(),
        "emit = false stays hidden"
    );
}

#[test]
fn the_resume_log_keeps_both_encodings_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let stack = pump_stack::spec();
    let cache = EntityCacheConfig {
        resume_log_size: 8,
        ..EntityCacheConfig::default()
    };
    let open = || {
        let config = StoreConfig {
            location: DataLocation::Dir(dir.path().to_path_buf()),
            ..StoreConfig::default()
        };
        let identity = Identity {
            stack_name: stack.name.clone(),
            fingerprint: "test".into(),
        };
        let (store, _) = Store::open(&config, &identity).unwrap();
        Projector::open(
            &stack,
            cache,
            StateTableConfig::default(),
            store,
            Arc::new(HotStats::default()),
        )
        .unwrap()
    };
    let mut p = open();
    let append = id(&p, "Token/append");
    let mut published = Vec::new();
    for m in workload().into_iter().take(20) {
        published.extend(apply(&mut p, m).into_iter().filter(|f| f.view == append));
    }
    p.commit().unwrap();
    let expect: Vec<(u64, Option<Bytes>)> = published
        .iter()
        .map(|f| (f.seq, f.delta.as_ref().map(|d| d.payload.clone())))
        .collect();
    let check = |p: &Projector| {
        let after = p.current_seq(append) - 8;
        let log = p.resume_frames(append, None, after).expect("in the log");
        let got: Vec<Option<Bytes>> = log
            .iter()
            .map(|f| f.delta.as_ref().map(|d| d.payload.clone()))
            .collect();
        let want: Vec<Option<Bytes>> = expect
            .iter()
            .filter(|(s, _)| *s > after)
            .map(|(_, d)| d.clone())
            .collect();
        assert_eq!(got, want);
        assert!(got.iter().filter(|d| d.is_some()).count() >= 5);
        assert!(
            p.resume_frames(append, None, after - 1).is_none(),
            "beyond the log's bound: no resume (the full frames are gone too)"
        );
    };
    check(&p);
    drop(p);
    let p = open();
    check(&p);
}
