//! Snapshots (batching, keys, skip/take), resume logs and frame encoding.

use super::*;

fn filled(n: usize) -> Projector {
    let mut p = projector();
    for i in 0..n {
        apply(&mut p, patch(&format!("k{i:04}"), json!({"volume_sol": i})));
    }
    p
}

/// (rows per frame, complete flags) of a snapshot.
fn shape(frames: &[Arc<EncodedFrame>]) -> (Vec<usize>, Vec<bool>) {
    json_frames(frames)
        .iter()
        .map(|f| {
            (
                f["data"].as_array().map_or(0, Vec::len),
                f["complete"] == true,
            )
        })
        .unzip()
}

#[test]
fn snapshot_batches() {
    let cases: [(usize, &[usize]); 7] = [
        (0, &[0]),
        (1, &[1]),
        (50, &[50]),
        (51, &[50, 1]),
        (150, &[50, 100]),
        (151, &[50, 100, 1]),
        (500, &[50, 100, 100, 100, 100, 50]),
    ];
    for (n, batches) in cases {
        let mut p = filled(n);
        for name in ["Token/list", "Token/trending"] {
            let (rows, complete) = {
                let v = id(&p, name);
                shape(&snap(&mut p, v, None, 0, None))
            };
            let expected_rows = if name == "Token/trending" {
                &batches[..1]
            } else {
                batches
            };
            let expected_rows = if name == "Token/trending" && n > 50 {
                &[50][..]
            } else {
                expected_rows
            };
            assert_eq!(rows, expected_rows, "{name} with {n} entities");
            let mut flags = vec![false; rows.len()];
            *flags.last_mut().unwrap() = true;
            assert_eq!(complete, flags, "{name} with {n} entities");
        }
    }
}

#[test]
fn snapshot_frame_shape_and_order() {
    let mut p = filled(3);
    let list = id(&p, "Token/list");
    let frames = json_frames(&snap(&mut p, list, None, 0, None));
    assert_eq!(
        frames,
        [
            json!({"mode": "list", "entity": "Token/list", "op": "snapshot",
                "data": [{"key": "k0000", "data": {"volume_sol": 0}},
                         {"key": "k0001", "data": {"volume_sol": 1}},
                         {"key": "k0002", "data": {"volume_sol": 2}}],
                "complete": true, "seq": "3"})
        ]
    );
    let trending = id(&p, "Token/trending");
    let keys: Vec<Value> = json_frames(&snap(&mut p, trending, None, 0, None))[0]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].clone())
        .collect();
    assert_eq!(keys, [json!("k0002"), json!("k0001"), json!("k0000")]);
}

#[test]
fn state_snapshot_by_key() {
    let mut p = filled(3);
    let state = id(&p, "Token/state");
    let one = json_frames(&snap(&mut p, state, Some("k0001"), 0, None));
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["mode"], "state");
    assert_eq!(
        one[0]["data"],
        json!([{"key": "k0001", "data": {"volume_sol": 1}}])
    );
    assert_eq!(one[0]["complete"], true);
    let none = json_frames(&snap(&mut p, state, Some("missing"), 0, None));
    assert_eq!(
        (none.len(), &none[0]["data"], &none[0]["complete"]),
        (1, &json!([]), &json!(true))
    );
    assert!(
        snap(&mut p, state, None, 0, None).is_empty(),
        "a state view is read by key only"
    );
}

#[test]
fn snapshot_skip_and_take() {
    let mut p = filled(200);
    let list = id(&p, "Token/list");
    assert_eq!(
        shape(&snap(&mut p, list, None, 0, Some(60))),
        (vec![50, 10], vec![false, true])
    );
    assert_eq!(
        shape(&snap(&mut p, list, None, 190, None)),
        (vec![10], vec![true])
    );
    assert_eq!(
        shape(&snap(&mut p, list, None, 500, None)),
        (vec![0], vec![true])
    );
    assert_eq!(
        shape(&snap(&mut p, list, None, 0, Some(0))),
        (vec![0], vec![true])
    );
    let rows = json_frames(&snap(&mut p, list, None, 10, Some(2)));
    assert_eq!(rows[0]["data"][0]["key"], "k0010");
    assert_eq!(rows[0]["data"][1]["key"], "k0011");
    let trending = id(&p, "Token/trending");
    let top = json_frames(&snap(&mut p, trending, None, 48, Some(10)));
    assert_eq!(
        top[0]["data"].as_array().map(Vec::len),
        Some(2),
        "skip within the top 50"
    );
    assert_eq!(top[0]["data"][0]["key"], "k0151");
}

#[test]
fn resume_after_a_cursor() {
    let mut p = projector();
    let (state, list) = (id(&p, "Token/state"), id(&p, "Token/list"));
    apply(&mut p, patch("a", json!({"volume_sol": 1})));
    apply(&mut p, patch("b", json!({"volume_sol": 2})));
    let cursor = p.current_seq(list);
    let first = json_frames(&snap(&mut p, list, None, 0, None));
    assert_eq!(first[0]["seq"], cursor.to_string());
    apply(&mut p, patch("a", json!({"volume_sol": 3})));
    apply(&mut p, Mutation::delete("Token", "b"));
    let frames = json_frames(&p.resume(list, None, cursor).expect("in the log"));
    let got: Vec<(&str, &str, &str)> = frames
        .iter()
        .map(|f| {
            (
                f["op"].as_str().unwrap(),
                f["key"].as_str().unwrap(),
                f["seq"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [("patch", "a", "3"), ("delete", "b", "4")]);
    let only_b = json_frames(&p.resume(state, Some("b"), 1).expect("in the log"));
    let only_b: Vec<&str> = only_b.iter().map(|f| f["op"].as_str().unwrap()).collect();
    assert_eq!(only_b, ["upsert", "delete"]);
    assert_eq!(p.resume(list, None, 4), Some(Vec::new()), "up to date");
    assert_eq!(p.resume(list, None, 5), None, "future cursor");
    assert!(p
        .resume(id(&p, "Token/append"), None, 0)
        .is_some_and(|f| f.len() == 4));
}

#[test]
fn resume_with_a_cursor_older_than_the_log() {
    let cache = EntityCacheConfig {
        resume_log_size: 4,
        ..EntityCacheConfig::default()
    };
    let mut p = Projector::new(&pump_stack::spec(), cache, StateTableConfig::default());
    let list = id(&p, "Token/list");
    for i in 0..10 {
        apply(&mut p, patch("a", json!({"volume_sol": i})));
    }
    assert_eq!(p.resume(list, None, 5), None, "frame 6 was dropped");
    let kept = p.resume(list, None, 6).expect("frames 7..=10 kept");
    assert_eq!(
        json_frames(&kept)
            .iter()
            .map(|f| f["seq"].clone())
            .collect::<Vec<_>>(),
        ["7", "8", "9", "10"]
    );
}

#[test]
fn large_frames_are_gzipped_small_ones_text() {
    let mut p = projector();
    let list = id(&p, "Token/list");
    let small = apply(&mut p, patch("a", json!({"name": "x"})));
    let small = &small.iter().find(|f| f.view == list).unwrap().frame;
    assert!(!small.binary);
    assert!(small.payload.starts_with(b"{"));
    let long = "y".repeat(1500);
    let big = apply(&mut p, patch("a", json!({"name": long})));
    let big = &big.iter().find(|f| f.view == list).unwrap().frame;
    assert!(big.binary);
    assert_eq!(&big.payload[..2], &[0x1f, 0x8b]);
    assert_eq!(big.json().unwrap()["data"]["name"], json!(long));
    let snap = snap(&mut p, list, None, 0, None);
    assert!(snap[0].binary);
    assert_eq!(
        snap[0].json().unwrap()["data"][0]["data"]["name"],
        json!(long)
    );
}

#[test]
fn published_frames_are_shared() {
    let mut p = projector();
    let list = id(&p, "Token/list");
    let out = apply(&mut p, patch("a", json!({"name": "x"})));
    let published = &out.iter().find(|f| f.view == list).unwrap().frame;
    let resumed = p.resume(list, None, 0).unwrap();
    assert!(
        Arc::ptr_eq(published, &resumed[0]),
        "the log holds the same encoded frame"
    );
}
