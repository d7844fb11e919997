//! A deployed stack, evaluated: parameter values (defaults filled in) and pseudo parameters, with
//! every intrinsic function resolved as CloudFormation would, so that a test can say what the
//! policies and settings *are* for given parameters, not only how they are written. A policy
//! built with `Fn::If`, `Fn::Sub` and `Fn::Select` is only checkable this way: read as written,
//! the same statement holds every branch at once.

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// The region and account the stack is evaluated in (`AWS::Region`, `AWS::AccountId`): fixed,
/// so that a test can spell out the ARNs it expects.
pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "111122223333";

/// A trail's SNS topic in another account and region (parameter `TrailSnsTopicArn`).
pub const TRAIL_TOPIC: &str = "arn:aws:sns:eu-west-1:999988887777:org-trail-deliveries";

/// A template with the parameter values of one deployment.
pub struct Stack<'t> {
    t: &'t Value,
    params: BTreeMap<String, String>,
}

impl<'t> Stack<'t> {
    /// The template deployed with its defaults but for `overrides` (each must name a
    /// parameter, so that a renamed parameter fails the test instead of being ignored).
    pub fn new(t: &'t Value, overrides: &[(&str, &str)]) -> Self {
        let mut params = BTreeMap::new();
        for (name, p) in t["Parameters"].as_object().unwrap() {
            let default = match &p["Default"] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            params.insert(name.clone(), default);
        }
        for (name, value) in overrides {
            assert!(params.contains_key(*name), "no parameter {name}");
            params.insert(name.to_string(), value.to_string());
        }
        for (name, value) in [
            ("AWS::Region", REGION),
            ("AWS::AccountId", ACCOUNT),
            ("AWS::Partition", "aws"),
            ("AWS::StackName", "snapshot-share-detector"),
            ("AWS::URLSuffix", "amazonaws.com"),
        ] {
            params.insert(name.to_owned(), value.to_owned());
        }
        Stack { t, params }
    }

    /// The value of a condition of the template's `Conditions`.
    pub fn condition(&self, name: &str) -> bool {
        let c = &self.t["Conditions"][name];
        assert!(!c.is_null(), "no condition {name}");
        self.truth(c)
    }

    /// The value of a condition function (`Fn::Equals`, `Fn::Not`, ..., `Condition`), as in
    /// `Conditions`, a rule's `RuleCondition` or an assertion.
    pub fn truth(&self, v: &Value) -> bool {
        let (f, args) = single(v);
        let arg = |i: usize| &args[i];
        match f {
            "Fn::Equals" => self.eval(arg(0)) == self.eval(arg(1)),
            "Fn::Not" => !self.truth(arg(0)),
            "Fn::And" => args.as_array().unwrap().iter().all(|c| self.truth(c)),
            "Fn::Or" => args.as_array().unwrap().iter().any(|c| self.truth(c)),
            "Condition" => self.condition(args.as_str().unwrap()),
            "Fn::Contains" => {
                let list = self.eval(arg(0)).unwrap();
                list.as_array()
                    .unwrap()
                    .contains(&self.eval(arg(1)).unwrap())
            }
            _ => panic!("not a condition: {v}"),
        }
    }

    /// The value with its intrinsic functions resolved; `None` for `AWS::NoValue`. A resource's
    /// `Ref` or attribute becomes a placeholder: `<Logical>`, `<Logical.Attribute>`.
    pub fn eval(&self, v: &Value) -> Option<Value> {
        match v {
            Value::Array(items) => Some(Value::Array(
                items.iter().filter_map(|i| self.eval(i)).collect(),
            )),
            Value::Object(m) if m.len() == 1 && is_intrinsic(m.keys().next().unwrap()) => {
                let (f, args) = single(v);
                let arg = |i: usize| &args[i];
                let text = |v: &Value| self.eval(v).unwrap().as_str().unwrap().to_owned();
                match f {
                    "Ref" => self.reference(args.as_str().unwrap()),
                    "Fn::GetAtt" => Some(json!(format!(
                        "<{}>",
                        match args {
                            Value::String(s) => s.clone(),
                            _ => format!("{}.{}", text(arg(0)), text(arg(1))),
                        }
                    ))),
                    "Fn::If" => {
                        let branch = if self.condition(arg(0).as_str().unwrap()) {
                            1
                        } else {
                            2
                        };
                        self.eval(arg(branch))
                    }
                    "Fn::Sub" => {
                        let (template, vars) = match args {
                            Value::String(s) => (s.clone(), BTreeMap::new()),
                            _ => (
                                arg(0).as_str().unwrap().to_owned(),
                                arg(1)
                                    .as_object()
                                    .unwrap()
                                    .iter()
                                    .map(|(k, v)| (k.clone(), text(v)))
                                    .collect(),
                            ),
                        };
                        Some(json!(self.sub(&template, &vars)))
                    }
                    "Fn::Select" => {
                        let index: usize = match arg(0) {
                            Value::String(s) => s.parse().unwrap(),
                            n => n.as_u64().unwrap() as usize,
                        };
                        let list = self.eval(arg(1)).unwrap();
                        Some(list[index].clone())
                    }
                    "Fn::Split" => Some(json!(text(arg(1))
                        .split(arg(0).as_str().unwrap())
                        .collect::<Vec<_>>())),
                    "Fn::FindInMap" => {
                        let map = text(arg(0));
                        let (top, second) = (text(arg(1)), text(arg(2)));
                        let value = &self.t["Mappings"][&map][&top][&second];
                        assert!(!value.is_null(), "no {map}.{top}.{second} in Mappings");
                        Some(value.clone())
                    }
                    "Fn::Join" => {
                        let items = self.eval(arg(1)).unwrap();
                        let items: Vec<&str> = items
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|i| i.as_str().unwrap())
                            .collect();
                        Some(json!(items.join(arg(0).as_str().unwrap())))
                    }
                    _ => panic!("cannot evaluate {v}"),
                }
            }
            Value::Object(m) => Some(Value::Object(
                m.iter()
                    .filter_map(|(k, v)| self.eval(v).map(|v| (k.clone(), v)))
                    .collect(),
            )),
            other => Some(other.clone()),
        }
    }

    /// What `Ref` gives: a parameter's value, `None` for `AWS::NoValue`, `<Logical>` for a
    /// resource.
    pub fn reference(&self, name: &str) -> Option<Value> {
        if name == "AWS::NoValue" {
            return None;
        }
        match self.params.get(name) {
            Some(value) => Some(json!(value)),
            None => {
                assert!(
                    !self.t["Resources"][name].is_null(),
                    "Ref to an unknown name {name}"
                );
                Some(json!(format!("<{name}>")))
            }
        }
    }

    /// `Fn::Sub` of `template`: `vars` first, then parameters, then `<Logical.Attribute>` for a
    /// resource; `${!Literal}` stays `${Literal}`.
    pub fn sub(&self, template: &str, vars: &BTreeMap<String, String>) -> String {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').unwrap() + start;
            let name = &rest[start + 2..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str(&format!("${{{literal}}}"));
            } else if let Some(value) = vars.get(name) {
                out.push_str(value);
            } else if let Some(value) = self.params.get(name) {
                out.push_str(value);
            } else {
                let logical = name.split('.').next().unwrap();
                assert!(
                    !self.t["Resources"][logical].is_null(),
                    "${{{name}}} names nothing"
                );
                out.push_str(&format!("<{name}>"));
            }
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// Whether the resource is created with these parameters.
    pub fn has(&self, name: &str) -> bool {
        let r = &self.t["Resources"][name];
        assert!(!r.is_null(), "no resource {name}");
        r["Condition"]
            .as_str()
            .is_none_or(|condition| self.condition(condition))
    }

    /// A created resource's properties, evaluated.
    pub fn properties(&self, name: &str) -> Value {
        assert!(
            self.has(name),
            "{name} is not created with {:?}",
            self.params
        );
        self.eval(&self.t["Resources"][name]["Properties"]).unwrap()
    }

    /// The statements of a created role's inline policies, evaluated.
    pub fn role_statements(&self, role: &str) -> Vec<Value> {
        self.properties(role)["Policies"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap().clone())
            .collect()
    }

    /// The AssertDescription of every rule assertion these parameters break.
    pub fn refusals(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, rule) in self.t["Rules"].as_object().unwrap() {
            if !rule["RuleCondition"].is_null() && !self.truth(&rule["RuleCondition"]) {
                continue;
            }
            for assertion in rule["Assertions"].as_array().unwrap() {
                if !self.truth(&assertion["Assert"]) {
                    out.push(format!("{name}: {}", assertion["AssertDescription"]));
                }
            }
        }
        out
    }
}

/// Parameters, whether they are refused, and why.
pub type Case<'a> = (&'a [(&'a str, &'a str)], bool, &'a str);

/// Parameter sets that cannot work, each refused by a rule of the template before anything is
/// created, and sets that must pass: fails on the first case whose refusal is not as given.
pub fn assert_refusals(t: &Value, cases: &[Case]) {
    for (params, refused, why) in cases {
        let refusals = Stack::new(t, params).refusals();
        assert_eq!(
            !refusals.is_empty(),
            *refused,
            "{why}: {params:?} gave {refusals:#?}"
        );
    }
}

/// Whether an object key makes the object an intrinsic function rather than data.
pub fn is_intrinsic(key: &str) -> bool {
    key == "Ref" || key == "Condition" || key.starts_with("Fn::")
}

/// A function object's name and arguments; panics on anything else, so that an unexpected
/// shape fails the test that met it.
pub fn single(v: &Value) -> (&str, &Value) {
    let m = v
        .as_object()
        .unwrap_or_else(|| panic!("not a function: {v}"));
    assert_eq!(m.len(), 1, "not a function: {v}");
    let (k, v) = m.iter().next().unwrap();
    (k.as_str(), v)
}
