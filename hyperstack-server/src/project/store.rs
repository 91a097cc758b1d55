//! Reading values at dotted paths of an entity (merging is [`hyperstack_spec::wire::merge`]).

use serde_json::{Map, Value};

/// The value at a dotted path of an object.
pub(crate) fn value_at<'a>(
    obj: &'a Map<String, Value>,
    path: &[impl AsRef<str>],
) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    rest.iter().try_fold(obj.get(first.as_ref())?, |v, seg| {
        v.as_object()?.get(seg.as_ref())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("test objects only"),
        }
    }

    #[test]
    fn value_at_follows_paths() {
        let o = obj(json!({"a": {"b": {"c": 1}}, "x": 2}));
        assert_eq!(value_at(&o, &["a", "b", "c"]), Some(&json!(1)));
        assert_eq!(value_at(&o, &["x"]), Some(&json!(2)));
        assert_eq!(value_at(&o, &["x", "y"]), None);
        assert_eq!(value_at(&o, &[] as &[&str]), None);
    }
}
