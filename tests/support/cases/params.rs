//! The generators of `requestParameters`: the attribute, the permission lists and their
//! items, in the shapes and spellings CloudTrail writes and in broken ones.

use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Map, Value};

use super::{pick, s, CALLER, ENVELOPE, FOREIGN, OWNER};

/// `createVolumePermission` in a random mix of cases, with underscores anywhere.
pub fn create_volume_permission_spelling() -> impl Strategy<Value = String> {
    const WORD: &str = "createvolumepermission";
    (
        prop::collection::vec((any::<bool>(), 0..10usize), WORD.len()),
        0..3usize,
    )
        .prop_map(|(letters, trailing)| {
            let mut out = String::new();
            for (c, (upper, underscores)) in WORD.chars().zip(letters) {
                // Mostly none; sometimes one, now and then two.
                out.push_str(&"_".repeat(underscores.saturating_sub(7)));
                out.push(if upper { c.to_ascii_uppercase() } else { c });
            }
            out.push_str(&"_".repeat(trailing));
            out
        })
}

pub fn attribute_type() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some(Value::Null)),
        3 => pick(&[
            (1, s("CREATE_VOLUME_PERMISSION")),
            (1, s("createVolumePermission")),
            (1, s("CreateVolumePermission")),
            (1, s("create_volume_permission")),
        ]),
        3 => create_volume_permission_spelling().prop_map(|s| Some(Value::String(s))),
        2 => pick(&[
            (1, s("productCodes")),
            (1, s("PRODUCT_CODES")),
            (1, s("")),
            (1, s(" CREATE_VOLUME_PERMISSION")),
            (1, s("createVolumePermissions")),
            (1, s("create-volume-permission")),
            (1, s("createVolumePermissio")),
        ]),
        1 => "[a-zA-Z_]{0,24}".prop_map(|s| Some(Value::String(s))),
        1 => pick(&[
            (1, Some(json!(1))),
            (1, Some(json!(true))),
            (1, Some(json!(["CREATE_VOLUME_PERMISSION"]))),
            (1, Some(json!({"value": "CREATE_VOLUME_PERMISSION"}))),
        ]),
    ]
}

pub fn user_id() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        3 => Just(None),
        8 => pick(&[
            (1, s(OWNER)),
            (1, s(CALLER)),
            (1, s(ENVELOPE)),
            (2, s(FOREIGN[0])),
            (2, s(FOREIGN[1])),
            (1, s(FOREIGN[2])),
        ]),
        3 => pick(&[
            (1, s(" 444455556666")),
            (1, s("444455556666\t")),
            (1, s(" 111122223333 ")),
            (1, s("\u{a0}777788889999\n")),
            (1, s("")),
            (1, s("   ")),
            (1, s("all")),
            (1, s("ALL")),
        ]),
        2 => "[0-9]{12}".prop_map(|s| Some(Value::String(s))),
        1 => pick(&[
            (1, Some(json!(444455556666u64))),
            (1, Some(Value::Null)),
            (1, Some(json!(["444455556666"]))),
            (1, Some(json!({"id": "444455556666"}))),
        ]),
    ]
}

pub fn group() -> impl Strategy<Value = Option<Value>> {
    pick(&[
        (10, None),
        (2, s("all")),
        (1, s("ALL")),
        (1, s("All")),
        (1, s(" all")),
        (1, s("all\n")),
        (1, s("al l")),
        (1, s("everyone")),
        (1, s("")),
        (1, Some(json!(1))),
        (1, Some(Value::Null)),
        (1, Some(json!(["all"]))),
    ])
}

pub fn item() -> impl Strategy<Value = Value> {
    prop_oneof![
        10 => (user_id(), group(), any::<bool>()).prop_map(|(user, group, extra)| {
            let mut m = Map::new();
            if let Some(u) = user {
                m.insert("userId".into(), u);
            }
            if let Some(g) = group {
                m.insert("group".into(), g);
            }
            if extra {
                m.insert("note".into(), json!("ModifySnapshotAttribute {\"group\":\"all\"}"));
            }
            Value::Object(m)
        }),
        1 => select(vec![
            json!("444455556666"),
            json!("all"),
            Value::Null,
            json!(7),
            json!([{"userId": "444455556666"}]),
        ]),
    ]
}

/// `items`: a list (the normal case), a single object, absent, or something else.
pub fn items() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        8 => prop::collection::vec(item(), 0..30).prop_map(|v| Some(Value::Array(v))),
        2 => item().prop_map(Some),
        1 => Just(None),
        1 => pick(&[(1, Some(Value::Null)), (1, s("all")), (1, Some(json!(5)))]),
    ]
}

/// `add` or `remove`: `{"items": ...}`, absent, or something else.
pub fn permission_list(likely: bool) -> impl Strategy<Value = Option<Value>> {
    let other = if likely { 0 } else { 1 };
    prop_oneof![
        6 => items().prop_map(|items| {
            let mut m = Map::new();
            if let Some(items) = items {
                m.insert("items".into(), items);
            }
            Some(Value::Object(m))
        }),
        2 * other => Just(None),
        other => pick(&[(1, s("add")), (1, Some(json!([{"userId": "444455556666"}])))]),
    ]
}

pub fn create_volume_permission(likely: bool) -> impl Strategy<Value = Option<Value>> {
    let other = if likely { 0 } else { 1 };
    prop_oneof![
        8 => (permission_list(likely), permission_list(false)).prop_map(|(add, remove)| {
            let mut m = Map::new();
            if let Some(add) = add {
                m.insert("add".into(), add);
            }
            if let Some(remove) = remove {
                m.insert("remove".into(), remove);
            }
            Some(Value::Object(m))
        }),
        other => Just(None),
        other => pick(&[(1, s("add")), (1, Some(Value::Null))]),
    ]
}

/// How `requestParameters` is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamsForm {
    Object,
    /// As a JSON string (some exporters do this).
    Text,
    /// A string that is not JSON.
    BrokenText,
    Null,
    Absent,
    Number,
}

pub fn request_parameters(likely: bool) -> impl Strategy<Value = Option<Value>> {
    let other = if likely { 0 } else { 1 };
    let forms = [
        (5, ParamsForm::Object),
        (2, ParamsForm::Text),
        (other, ParamsForm::BrokenText),
        (other, ParamsForm::Null),
        (other, ParamsForm::Absent),
        (other, ParamsForm::Number),
    ];
    let form = select(
        forms
            .iter()
            .flat_map(|&(n, f)| std::iter::repeat_n(f, n))
            .collect::<Vec<_>>(),
    );
    let snapshot = pick(&[
        (3, s("snap-041993b54a9b3af6f")),
        (1, s("")),
        (1, None),
        (1, Some(json!(5))),
    ]);
    (
        form,
        snapshot,
        attribute_type(),
        create_volume_permission(likely),
        any::<bool>(),
    )
        .prop_map(|(form, snapshot, kind, permission, product_codes)| {
            let mut m = Map::new();
            if let Some(v) = snapshot {
                m.insert("snapshotId".into(), v);
            }
            if let Some(v) = kind {
                m.insert("attributeType".into(), v);
            }
            if let Some(v) = permission {
                m.insert("createVolumePermission".into(), v);
            }
            if product_codes {
                m.insert(
                    "productCodes".into(),
                    json!({"add": {"items": [{"productCode": "x"}]}}),
                );
            }
            let params = Value::Object(m);
            match form {
                ParamsForm::Object => Some(params),
                ParamsForm::Text => Some(Value::String(params.to_string())),
                ParamsForm::BrokenText => Some(Value::String(format!("{{{params}"))),
                ParamsForm::Null => Some(Value::Null),
                ParamsForm::Absent => None,
                ParamsForm::Number => Some(json!(5)),
            }
        })
}
