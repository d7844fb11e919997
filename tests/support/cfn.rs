//! The CloudFormation templates (template.yaml, forwarder.yaml) read as data, and the walkers
//! over their resources and policies. The template tests say what we promise about the
//! templates; reading them the way CloudFormation does, in one place, keeps every test
//! file's reading the same.

use serde_json::{json, Value};

/// template.yaml as JSON, with each short-form intrinsic (`!Ref x`) turned into its long form
/// (`{"Ref": "x"}`, `{"Fn::Sub": ...}`), as CloudFormation reads it.
pub fn template() -> Value {
    load("template.yaml")
}

/// A template of the repository (a path from its root, where `cargo test` runs) as JSON, as
/// [`template`] reads template.yaml.
pub fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    let yaml: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    to_json(yaml)
}

/// YAML to JSON; a tag (`!Ref`, `!Sub`, `!If`, ...) becomes the long form of its intrinsic
/// (`Ref` and `Condition` keep their names, the others take `Fn::`), so that a test sees one
/// form whichever the template uses.
pub fn to_json(v: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => json!(b),
        Y::Number(n) => serde_json::to_value(n).unwrap(),
        Y::String(s) => json!(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k.as_str().expect("string keys").to_owned(), to_json(v)))
                .collect(),
        ),
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let key = match name {
                "Ref" | "Condition" => name.to_owned(),
                _ => format!("Fn::{name}"),
            };
            json!({ key: to_json(tagged.value) })
        }
    }
}

/// The template's resources: logical id and definition.
pub fn resources(t: &Value) -> impl Iterator<Item = (&String, &Value)> {
    t["Resources"].as_object().unwrap().iter()
}

/// Every policy statement of the template with where it is: IAM role policies, queue and topic
/// policies, key policies. A statement inside `Fn::If` counts for each branch.
pub fn statements(t: &Value) -> Vec<(String, Value)> {
    fn push(out: &mut Vec<(String, Value)>, at: &str, v: &Value) {
        match v {
            Value::Array(items) => items.iter().for_each(|s| push(out, at, s)),
            Value::Object(m) if m.contains_key("Fn::If") => {
                let branches = m["Fn::If"].as_array().unwrap();
                push(out, at, &branches[1]);
                push(out, at, &branches[2]);
            }
            Value::Object(m) if m.contains_key("Ref") => {} // AWS::NoValue
            Value::Object(m) if m.contains_key("PolicyDocument") => {
                let name = m["PolicyName"].as_str().unwrap_or("?");
                push(
                    out,
                    &format!("{at}/{name}"),
                    &m["PolicyDocument"]["Statement"],
                );
            }
            Value::Object(_) => out.push((at.to_owned(), v.clone())),
            _ => panic!("{at}: unexpected statement {v}"),
        }
    }
    let mut out = Vec::new();
    for (name, r) in resources(t) {
        let p = &r["Properties"];
        match r["Type"].as_str().unwrap() {
            "AWS::IAM::Role" => push(&mut out, name, &p["Policies"]),
            "AWS::SQS::QueuePolicy" | "AWS::SNS::TopicPolicy" => {
                push(&mut out, name, &p["PolicyDocument"]["Statement"])
            }
            "AWS::KMS::Key" => push(&mut out, name, &p["KeyPolicy"]["Statement"]),
            "AWS::Events::EventBusPolicy" => push(&mut out, name, &p["Statement"]),
            _ => {}
        }
    }
    out
}

/// A policy's string-or-list field (`Action`, `Resource`) as a list; anything else (an
/// intrinsic) as its JSON text, so that a check on the text still sees it.
pub fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        other => vec![other.to_string()],
    }
}

/// The statements of a role that carry one of these actions.
pub fn with_action<'a>(statements: &'a [Value], action: &str) -> Vec<&'a Value> {
    statements
        .iter()
        .filter(|s| strings(&s["Action"]).iter().any(|a| a == action))
        .collect()
}
