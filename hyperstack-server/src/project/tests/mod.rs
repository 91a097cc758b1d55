//! Projector tests on the pump stack (`Token`: state, list, append, trending, latest).

mod deltas;
mod derived;
mod snapshot;
mod views;

use serde_json::{json, Map, Value};

use super::*;
use hyperstack_spec::{DerivedView, SortSpec, View};

/// The pump stack with default settings.
fn projector() -> Projector {
    Projector::new(
        &pump_stack::spec(),
        EntityCacheConfig::default(),
        StateTableConfig::default(),
    )
}

/// The pump stack with `Token/trending` limited to `limit` rows, a list window and a hot set
/// of `cap` entities.
fn small(limit: usize, cap: usize) -> Projector {
    let (stack, cache, table) = small_parts(limit, cap);
    Projector::new(&stack, cache, table)
}

/// What [`small`] is made of.
fn small_parts(limit: usize, cap: usize) -> (Stack, EntityCacheConfig, StateTableConfig) {
    let mut stack = pump_stack::spec();
    for view in &mut stack.entities[0].views {
        if let ViewKind::Derived(d) = &mut view.kind {
            d.limit = Some(limit);
        }
    }
    stack.entities[0].views.push(View {
        name: "all".into(),
        full_name: "Token/all".into(),
        description: None,
        kind: ViewKind::Derived(DerivedView {
            sort: Some(SortSpec {
                field: "stats.rank".into(),
                order: SortOrder::Asc,
            }),
            limit: None,
            filter: None,
        }),
    });
    let cache = EntityCacheConfig {
        max_entities_per_view: cap,
        ..EntityCacheConfig::default()
    };
    // The hot set is as small as the list window: entities beyond it live on disk only.
    let table = StateTableConfig {
        max_entries: cap,
        ..StateTableConfig::default()
    };
    (stack, cache, table)
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!("test objects only"),
    }
}

fn patch(key: &str, data: Value) -> Mutation {
    Mutation::patch("Token", key, obj(data))
}

fn id(p: &Projector, name: &str) -> ViewId {
    p.view_id(name).expect("view exists")
}

/// The frames of one view, as JSON.
fn frames_of(published: &[Published], view: ViewId) -> Vec<Value> {
    published
        .iter()
        .filter(|p| p.view == view)
        .map(|p| p.frame.json().expect("valid frame"))
        .collect()
}

/// `op key` of each frame of one view.
fn ops(published: &[Published], view: ViewId) -> Vec<String> {
    frames_of(published, view)
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["op"].as_str().unwrap_or("?"),
                f["key"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

fn apply(p: &mut Projector, m: Mutation) -> Vec<Published> {
    p.apply(&m).expect("known entity")
}

fn json_frames(frames: &[Arc<EncodedFrame>]) -> Vec<Value> {
    frames
        .iter()
        .map(|f| f.json().expect("valid frame"))
        .collect()
}

#[test]
fn views_describe_the_stack() {
    let p = projector();
    let names: Vec<(&str, &str, bool)> = p
        .views()
        .iter()
        .map(|v| (v.full_name.as_str(), v.mode, v.keyed))
        .collect();
    assert_eq!(
        names,
        [
            ("Token/state", "state", true),
            ("Token/list", "list", false),
            ("Token/append", "append", false),
            ("Token/trending", "list", false),
            ("Token/latest", "list", false),
        ]
    );
    let trending = &p.views()[id(&p, "Token/trending")];
    assert_eq!(
        trending.sort,
        Some((vec!["volume_sol".to_string()], SortOrder::Desc))
    );
    assert!(p
        .views()
        .iter()
        .enumerate()
        .all(|(i, v)| v.id == i && v.entity == "Token"));
    assert_eq!(p.view_id("Token/nope"), None);
}

#[test]
fn subscribed_frames() {
    let p = projector();
    let trending = p
        .subscribed_frame(id(&p, "Token/trending"), false)
        .json()
        .unwrap();
    let epoch = p.epoch().to_string();
    assert!(!epoch.is_empty());
    assert_eq!(
        trending,
        json!({"op": "subscribed", "view": "Token/trending", "mode": "list",
               "sort": {"field": ["volume_sol"], "order": "desc"}, "resumed": false,
               "epoch": epoch, "append_caps": {"last_trades": 20}, "append_default_cap": 100})
    );
    let state = p
        .subscribed_frame(id(&p, "Token/state"), true)
        .json()
        .unwrap();
    assert_eq!(
        state,
        json!({"op": "subscribed", "view": "Token/state", "mode": "state", "resumed": true,
               "epoch": epoch, "append_caps": {"last_trades": 20}, "append_default_cap": 100})
    );
    assert_ne!(projector().epoch(), epoch, "each run has its own epoch");
    let nested = small(3, 10);
    let all = nested
        .subscribed_frame(id(&nested, "Token/all"), false)
        .json()
        .unwrap();
    assert_eq!(
        all["sort"],
        json!({"field": ["stats", "rank"], "order": "asc"})
    );
}

#[test]
fn unknown_entity_is_rejected_without_change() {
    let mut p = projector();
    let err = p
        .apply(&Mutation::patch("Nope", "k", Map::new()))
        .unwrap_err();
    assert!(matches!(err, ProjectError::UnknownEntity(ref e) if e == "Nope"));
    assert_eq!(err.to_string(), "unknown entity `Nope`");
    assert!(p.views().iter().all(|v| p.current_seq(v.id) == 0));
    assert_eq!(p.entity_count("Nope"), 0);
}

#[test]
fn unknown_view_ids_are_harmless() {
    let mut p = projector();
    assert!(snap(&mut p, 99, None, 0, None).is_empty());
    assert_eq!(p.resume(99, None, 0), None);
    assert_eq!(p.current_seq(99), 0);
    assert_eq!(p.subscribed_frame(99, false).json().unwrap()["view"], "");
}

/// The snapshot frames of a view (committing first).
fn snap(
    p: &mut Projector,
    view: ViewId,
    key: Option<&str>,
    skip: usize,
    take: Option<usize>,
) -> Vec<Arc<EncodedFrame>> {
    p.snapshot(view, key, skip, take)
        .expect("snapshot reads the store")
}
