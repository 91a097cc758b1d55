//! The wire rules both ends of a subscription apply, in one place: how a `patch` frame merges
//! into an entity ([`merge`], with per-path [`AppendCaps`]) and the order of a sorted derived
//! view ([`Rank`], [`compare`]).
//!
//! The server's projector and the SDK's store call these same functions, so an SDK that
//! applies the frames of a view holds exactly what the server holds, in the same order.
//!
//! # Merge
//!
//! A patch is a JSON object merged into the entity key by key:
//!
//! - an object merges into the stored value recursively (a stored value that is not an object
//!   is replaced by an empty object first);
//! - any other value replaces the stored one: scalars, arrays, and an explicit `null` (which
//!   is stored as `null`; a key absent from the patch leaves the stored value alone);
//! - at an *append path* (dotted: `last_trades`, `stats.history`, listed in the frame's
//!   `append`) the patch's value holds items to append: an array's elements in order, or any
//!   other non-null value (object, string, number, boolean) as one item. A stored value that
//!   is not an array is replaced by an empty array first. Only the last `cap` items are kept,
//!   `cap` being the path's cap in [`AppendCaps`] (the spec's `append … cap`), or its default.
//! - `null` at an append path resets the field to `null` (like `null` anywhere); a later
//!   append starts a new array.
//!
//! # View order
//!
//! Sorted views order entities by the value at their sort field, then by key:
//!
//! - **numbers** first, by exact value: JSON numbers and strings of decimal digits
//!   (`-?[0-9]+`: integers beyond 2^53 travel as strings) compare exactly, integers of any
//!   size with each other and with floats (`"9007199254740993"` > `9007199254740992.0`);
//! - then **strings** (not all digits), by bytes;
//! - then **booleans**, `false` before `true`;
//! - **missing** values — absent, `null`, arrays and objects — come last.
//!
//! A descending view reverses the order of present values (booleans, strings, then numbers
//! from largest); missing values stay last in both directions. Ties, equal values included
//! (`2` and `2.0` and `"002"`), are broken by the key, ascending, in both directions. The result
//! is a total order over (value, key): every sort is deterministic and identical on both ends.
//!
//! ```
//! use hyperstack_spec::wire::{compare, merge_value, AppendCaps, Rank};
//! use hyperstack_spec::SortOrder;
//! use serde_json::json;
//!
//! let caps = AppendCaps::new(100).with_path("trades", 2);
//! let mut entity = json!({"name": "A", "trades": [1, 2]});
//! merge_value(&mut entity, &json!({"trades": [3], "price": 5}), &["trades"], &caps);
//! assert_eq!(entity, json!({"name": "A", "trades": [2, 3], "price": 5}));
//!
//! let big = json!("18446744073709551615");
//! let order = compare(SortOrder::Desc, (Some(&big), "a"), (Some(&json!(1.5)), "b"));
//! assert_eq!(order, std::cmp::Ordering::Less, "the larger number first");
//! assert!(Rank::new(Some(&json!(null)), SortOrder::Asc) == Rank::last());
//! ```

mod merge;
mod number;
mod order;

pub use merge::{merge, merge_value, AppendCaps};
pub use order::{compare, Rank, SortValue};

/// The cap of an append path that has none: the spec's default `append` cap.
pub use crate::validate::DEFAULT_APPEND_CAP;
