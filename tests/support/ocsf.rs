//! An OCSF event validator over the schema's source files (the part of them kept under
//! `tests/fixtures/ocsf/VERSION/`), so that the tests need neither the network nor the OCSF
//! server. It compiles a class as the server does: the `extends` chain down from `base_event`,
//! each `$include` (a profile's attributes marked with the profile), every attribute's details
//! from `dictionary.json` under the class's or object's own, and a `NAME_dt` (datetime_t, of the
//! datetime profile) beside every `timestamp_t`. Then it checks an event as the server's
//! validator does, and stricter where the server only warns:
//!
//! - every required attribute present, in the event and in every object in it;
//! - every key known to its class or object (profile attributes only with the profile listed
//!   in `metadata.profiles`); an object with no attributes (`unmapped`: type `object`) takes any;
//! - types: string (and its kinds: a datetime must read as RFC 3339, an IP as an address),
//!   integer (32-bit), long and timestamp (64-bit), float, boolean, json, objects and arrays;
//! - enum values of `*_id` attributes, and their caption siblings (the server warns);
//! - objects' `at_least_one` / `just_one` constraints;
//! - `class_uid`, `category_uid` and their names, `type_uid` = class_uid × 100 + activity_id and
//!   `type_name`, and `metadata.version` = the schema's version.
//!
//! Not checked: observables, deprecation, and the regexes of string kinds other than datetime
//! and IP (there is no regex engine among the dev-dependencies; the output uses neither).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// A class or object, compiled: its attributes with their full details.
#[derive(Debug, Clone)]
pub struct Item {
    pub name: String,
    pub caption: String,
    pub attributes: BTreeMap<String, Map<String, Value>>,
    pub constraints: Map<String, Value>,
    pub uid: Option<u64>,
    pub category: Option<String>,
}

/// The schema's source files of one version.
pub struct Schema {
    root: PathBuf,
    dictionary: Map<String, Value>,
    types: Map<String, Value>,
    pub version: String,
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e} (not among the fixtures?)", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The string at `key` of a map, if there is one.
fn text<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

/// `over` merged into `base`, recursively for objects: what `over` says wins.
fn merge(base: &mut Map<String, Value>, over: &Map<String, Value>) {
    for (key, value) in over {
        match (base.get_mut(key), value) {
            (Some(Value::Object(b)), Value::Object(o)) => merge(b, o),
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

impl Schema {
    /// The schema under `tests/fixtures/ocsf/VERSION`.
    pub fn load(version: &str) -> Schema {
        let root = Path::new("tests/fixtures/ocsf").join(version);
        let dictionary = read(&root.join("dictionary.json"));
        Schema {
            dictionary: dictionary["attributes"].as_object().unwrap().clone(),
            types: dictionary["types"]["attributes"]
                .as_object()
                .unwrap()
                .clone(),
            version: read(&root.join("version.json"))["version"]
                .as_str()
                .unwrap()
                .to_owned(),
            root,
        }
    }

    /// An event class's source file, found by its `name` under `events/`.
    fn event_file(&self, name: &str) -> PathBuf {
        let mut dirs = vec![self.root.join("events")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if read(&path)["name"] == name {
                    return path;
                }
            }
        }
        panic!("no event class {name} among the fixtures")
    }

    /// The event class `name` (`detection_finding`), compiled.
    pub fn class(&self, name: &str) -> Item {
        let mut item = self.compile(&self.event_file(name), &|n| self.event_file(n));
        if let Some(category) = item.category.clone() {
            let categories = read(&self.root.join("categories.json"));
            let cat = &categories["attributes"][&category];
            let cat_uid = cat["uid"].as_u64().unwrap();
            let uid = cat_uid * 1000 + item.uid.unwrap_or(0);
            item.uid = Some(uid);
            // The server gives these one value each: this class's, this category's.
            let class_caption = item.caption.clone();
            let mut only = |attr: &str, value: u64, caption: &str| {
                let mut e = Map::new();
                e.insert(value.to_string(), serde_json::json!({ "caption": caption }));
                item.attributes
                    .get_mut(attr)
                    .unwrap()
                    .insert("enum".into(), Value::Object(e));
            };
            only("class_uid", uid, &class_caption);
            only("category_uid", cat_uid, cat["caption"].as_str().unwrap());
        }
        item
    }

    /// The object `name` (`finding_info`), compiled.
    pub fn object(&self, name: &str) -> Item {
        let file = |n: &str| self.root.join("objects").join(format!("{n}.json"));
        self.compile(&file(name), &file)
    }

    fn compile(&self, path: &Path, parent_file: &dyn Fn(&str) -> PathBuf) -> Item {
        let source = read(path);
        let mut attributes: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
        let mut constraints = Map::new();
        let mut caption = source["caption"].as_str().unwrap_or_default().to_owned();
        let mut category = source["category"].as_str().map(str::to_owned);
        if let Some(parent) = source["extends"].as_str() {
            let p = self.compile(&parent_file(parent), parent_file);
            attributes = p.attributes;
            constraints = p.constraints;
            category = category.or(p.category);
            if caption.is_empty() {
                caption = p.caption;
            }
        }
        let own = source["attributes"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let mut mine: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
        for include in own
            .get("$include")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let inc = read(&self.root.join(include.as_str().unwrap()));
            let profile = (inc["meta"] == "profile").then(|| inc["name"].clone());
            for (name, details) in inc["attributes"].as_object().unwrap() {
                let mut d = details.as_object().unwrap().clone();
                if let Some(p) = &profile {
                    d.insert("profile".into(), p.clone());
                }
                merge(mine.entry(name.clone()).or_default(), &d);
            }
        }
        for (name, details) in own.iter().filter(|(k, _)| *k != "$include") {
            merge(
                mine.entry(name.clone()).or_default(),
                details.as_object().unwrap(),
            );
        }
        for (name, details) in mine {
            merge(attributes.entry(name).or_default(), &details);
        }
        if let Some(c) = source["constraints"].as_object() {
            constraints = c.clone();
        }
        // The dictionary's details under the item's own, and a datetime beside each timestamp.
        let mut full = BTreeMap::new();
        for (name, details) in &attributes {
            let mut d = self
                .dictionary
                .get(name)
                .and_then(Value::as_object)
                .cloned();
            let d = d.get_or_insert_with(Map::new);
            merge(d, details);
            if text(d, "type") == Some("timestamp_t") && !name.ends_with("_dt") {
                let mut dt = d.clone();
                dt.insert("type".into(), "datetime_t".into());
                dt.insert("profile".into(), "datetime".into());
                dt.insert("requirement".into(), "optional".into());
                dt.remove("enum");
                full.insert(format!("{name}_dt"), dt);
            }
            full.insert(name.clone(), d.clone());
        }
        Item {
            name: source["name"].as_str().unwrap_or_default().to_owned(),
            caption,
            attributes: full,
            constraints,
            uid: source["uid"].as_u64(),
            category,
        }
    }

    /// Every problem of `event` as an instance of class `class`, each naming its path; empty
    /// when it is valid.
    pub fn validate(&self, class: &str, event: &Value) -> Vec<String> {
        let item = self.class(class);
        let mut errors = Vec::new();
        let profiles: Vec<String> = event["metadata"]["profiles"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str().map(str::to_owned))
            .collect();
        for p in &profiles {
            if !self
                .root
                .join("profiles")
                .join(format!("{p}.json"))
                .exists()
            {
                errors.push(format!("metadata.profiles: unknown profile {p}"));
            }
        }
        self.check_item(&item, event, "", &profiles, &mut errors);
        let int = |k: &str| event[k].as_u64();
        if let (Some(class_uid), Some(activity), Some(type_uid)) =
            (int("class_uid"), int("activity_id"), int("type_uid"))
        {
            if type_uid != class_uid * 100 + activity {
                errors.push(format!(
                    "type_uid: {type_uid} is not class_uid × 100 + activity_id"
                ));
            }
            let activity_caption = &item.attributes["activity_id"]
                .get("enum")
                .map_or(Value::Null, |e| e[activity.to_string()]["caption"].clone());
            if let (Some(name), Some(caption)) =
                (event["type_name"].as_str(), activity_caption.as_str())
            {
                if name != format!("{}: {caption}", item.caption) {
                    errors.push(format!("type_name: {name:?} does not name the type"));
                }
            }
        }
        if event["metadata"]["version"] != self.version.as_str() {
            errors.push(format!(
                "metadata.version: {} is not the schema's {}",
                event["metadata"]["version"], self.version
            ));
        }
        errors
    }

    fn check_item(
        &self,
        item: &Item,
        value: &Value,
        path: &str,
        profiles: &[String],
        errors: &mut Vec<String>,
    ) {
        let Some(fields) = value.as_object() else {
            errors.push(format!("{path}: not an object ({})", item.name));
            return;
        };
        let allowed: BTreeMap<&String, &Map<String, Value>> = item
            .attributes
            .iter()
            .filter(|(_, d)| text(d, "profile").is_none_or(|p| profiles.iter().any(|q| q == p)))
            .collect();
        let at = |name: &str| {
            if path.is_empty() {
                name.to_owned()
            } else {
                format!("{path}.{name}")
            }
        };
        for (name, details) in &allowed {
            if text(details, "requirement") == Some("required")
                && !fields.contains_key(name.as_str())
            {
                errors.push(format!("{}: required by {}, missing", at(name), item.name));
            }
        }
        for (name, v) in fields {
            match allowed.get(name) {
                None if item.attributes.is_empty() => {}
                None => errors.push(format!("{}: not an attribute of {}", at(name), item.name)),
                Some(details) => {
                    self.check_attribute(details, fields, name, v, &at(name), profiles, errors)
                }
            }
        }
        for (kind, names) in &item.constraints {
            let names: Vec<&str> = names
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            let present = names.iter().filter(|n| fields.contains_key(**n)).count();
            let ok = match kind.as_str() {
                "at_least_one" => present >= 1,
                "just_one" => present == 1,
                other => panic!("constraint {other} unknown to this validator"),
            };
            if !ok {
                errors.push(format!(
                    "{path}: {} constraint {kind} {names:?} fails",
                    item.name
                ));
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn check_attribute(
        &self,
        details: &Map<String, Value>,
        siblings: &Map<String, Value>,
        name: &str,
        value: &Value,
        path: &str,
        profiles: &[String],
        errors: &mut Vec<String>,
    ) {
        let is_array = details.get("is_array") == Some(&Value::Bool(true));
        let values: Vec<(String, &Value)> = match (is_array, value) {
            (true, Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("{path}[{i}]"), v))
                .collect(),
            (true, _) => return errors.push(format!("{path}: not an array")),
            (false, v) => vec![(path.to_owned(), v)],
        };
        let Some(type_name) = text(details, "type") else {
            return errors.push(format!("{path}: the schema gives {name} no type"));
        };
        for (path, v) in values {
            if type_name.ends_with("_t") {
                if let Some(problem) = self.type_problem(type_name, v) {
                    errors.push(format!("{path}: {problem}"));
                }
            } else if type_name == "object" && v.is_object() {
                // Open-ended (`unmapped`): any keys.
            } else {
                let object = self.object(type_name);
                self.check_item(&object, v, &path, profiles, errors);
            }
            if let Some(e) = details.get("enum").and_then(Value::as_object) {
                let key = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                match e.get(&key) {
                    None => errors.push(format!("{path}: {key} is not a value of enum {name}")),
                    Some(def) if !is_array && key != "99" => {
                        if let Some(s) = details.get("sibling").and_then(Value::as_str) {
                            if let Some(caption) = siblings.get(s) {
                                if caption != &def["caption"] {
                                    errors.push(format!(
                                        "{path}: sibling {s} is {caption}, the caption of {key} is {}",
                                        def["caption"]
                                    ));
                                }
                            }
                        }
                    }
                    Some(_) => {}
                }
            }
        }
    }

    /// What is wrong with `v` as a value of the scalar type `type_name`, if anything.
    fn type_problem(&self, type_name: &str, v: &Value) -> Option<String> {
        let def = self.types.get(type_name)?;
        let wrong = || Some(format!("{v} is not a {type_name}"));
        match type_name {
            "boolean_t" => (!v.is_boolean()).then(wrong)?,
            "integer_t" => v
                .as_i64()
                .filter(|n| i32::try_from(*n).is_ok())
                .is_none()
                .then(wrong)?,
            "long_t" => (!v.is_i64() && !v.is_u64()).then(wrong)?,
            "float_t" => (!v.is_number()).then(wrong)?,
            "json_t" => None,
            "string_t" => match v.as_str() {
                None => wrong(),
                Some(s) if s.len() > 65_535 => Some("longer than string_t's 65535".to_owned()),
                Some(_) => None,
            },
            "datetime_t" => v.as_str().filter(|s| rfc3339(s)).is_none().then(wrong)?,
            "ip_t" => v
                .as_str()
                .and_then(|s| s.parse::<IpAddr>().ok())
                .is_none()
                .then(wrong)?,
            // A kind of another type: that type's check, then its length bound.
            _ => {
                let base = def["type"].as_str()?;
                if let Some(problem) = self.type_problem(base, v) {
                    return Some(format!("{problem} (a {type_name})"));
                }
                let max = def["max_len"].as_u64()?;
                v.as_str()
                    .filter(|s| s.len() as u64 > max)
                    .map(|_| format!("longer than {type_name}'s {max}"))
            }
        }
    }
}

/// Whether `s` has the shape of OCSF's datetime_t: `YYYY-MM-DDTHH:MM:SS`, an optional
/// fraction, an optional `Z` or `±HH:MM`.
fn rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let head = b.len() >= 19
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !head {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(f) = rest.strip_prefix('.') {
        let n = f.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &f[n..];
    }
    let zone = rest.as_bytes();
    rest.is_empty()
        || rest == "Z"
        || (zone.len() == 6
            && matches!(zone[0], b'+' | b'-')
            && zone[1..3].iter().all(u8::is_ascii_digit)
            && zone[3] == b':'
            && zone[4..6].iter().all(u8::is_ascii_digit))
}
