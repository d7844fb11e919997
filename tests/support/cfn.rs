//! The CloudFormation templates (template.yaml, forwarder.yaml, audit-role.yaml) read as data,
//! and the walkers over their resources and policies. The template tests say what we promise
//! about the templates; reading them the way CloudFormation does, in one place, keeps every
//! test file's reading the same.

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

/// The actions of these statements, sorted, each once.
pub fn actions<'a>(statements: impl IntoIterator<Item = &'a Value>) -> Vec<String> {
    let mut out: Vec<String> = statements
        .into_iter()
        .flat_map(|s| strings(&s["Action"]))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The statements of a role that carry one of these actions.
pub fn with_action<'a>(statements: &'a [Value], action: &str) -> Vec<&'a Value> {
    statements
        .iter()
        .filter(|s| strings(&s["Action"]).iter().any(|a| a == action))
        .collect()
}

/// Whether `value` matches `pattern`, a parameter's `AllowedPattern` (CloudFormation's Java
/// regular expressions, in the subset the templates use: `^`, `$`, `|`, groups, classes with
/// ranges and `^`, `\` escapes, and `?`, `*`, `+`, `{n}`, `{n,}`, `{n,m}`). So that a test can
/// say which values a parameter accepts; panics on anything else rather than guess.
pub fn allowed(pattern: &str, value: &str) -> bool {
    let chars: Vec<char> = pattern.chars().collect();
    let mut at = 0;
    let node = regex::alternation(&chars, &mut at);
    assert_eq!(at, chars.len(), "cannot read {pattern:?} past {at}");
    let text: Vec<char> = value.chars().collect();
    // Java's `matches`: the whole value (the templates anchor every pattern anyway).
    regex::ends(&node, &text, 0).contains(&text.len())
}

mod regex {
    /// A parsed pattern.
    pub enum Node {
        Alt(Vec<Node>),
        Seq(Vec<Node>),
        Repeat(Box<Node>, usize, usize),
        Class(Vec<(char, char)>, bool),
        Char(char),
        Start,
        End,
    }

    pub fn alternation(p: &[char], at: &mut usize) -> Node {
        let mut options = vec![sequence(p, at)];
        while p.get(*at) == Some(&'|') {
            *at += 1;
            options.push(sequence(p, at));
        }
        Node::Alt(options)
    }

    fn sequence(p: &[char], at: &mut usize) -> Node {
        let mut items = Vec::new();
        while let Some(&c) = p.get(*at) {
            if c == '|' || c == ')' {
                break;
            }
            *at += 1;
            let atom = match c {
                '(' => {
                    let inner = alternation(p, at);
                    assert_eq!(p.get(*at), Some(&')'), "unclosed group");
                    *at += 1;
                    inner
                }
                '[' => class(p, at),
                '\\' => {
                    *at += 1;
                    Node::Char(p[*at - 1])
                }
                '^' => Node::Start,
                '$' => Node::End,
                '.' => Node::Class(vec![], true),
                c => Node::Char(c),
            };
            items.push(quantified(p, at, atom));
        }
        Node::Seq(items)
    }

    fn class(p: &[char], at: &mut usize) -> Node {
        let negated = p[*at] == '^';
        if negated {
            *at += 1;
        }
        let mut ranges = Vec::new();
        while p[*at] != ']' {
            let mut c = p[*at];
            if c == '\\' {
                *at += 1;
                c = p[*at];
            }
            *at += 1;
            if p[*at] == '-' && p[*at + 1] != ']' {
                let end = p[*at + 1];
                *at += 2;
                ranges.push((c, end));
            } else {
                ranges.push((c, c));
            }
        }
        *at += 1;
        Node::Class(ranges, negated)
    }

    fn quantified(p: &[char], at: &mut usize, atom: Node) -> Node {
        let (lo, hi) = match p.get(*at) {
            Some('?') => (0, 1),
            Some('*') => (0, usize::MAX),
            Some('+') => (1, usize::MAX),
            Some('{') => {
                let close = p[*at..].iter().position(|&c| c == '}').unwrap() + *at;
                let inside: String = p[*at + 1..close].iter().collect();
                *at = close;
                match inside.split_once(',') {
                    None => {
                        let n = inside.parse().unwrap();
                        (n, n)
                    }
                    Some((lo, "")) => (lo.parse().unwrap(), usize::MAX),
                    Some((lo, hi)) => (lo.parse().unwrap(), hi.parse().unwrap()),
                }
            }
            _ => return atom,
        };
        *at += 1;
        Node::Repeat(Box::new(atom), lo, hi)
    }

    /// Every position where a match of `node` starting at `from` can end.
    pub fn ends(node: &Node, text: &[char], from: usize) -> Vec<usize> {
        let mut out: Vec<usize> = match node {
            Node::Char(c) => (text.get(from) == Some(c))
                .then_some(from + 1)
                .into_iter()
                .collect(),
            Node::Class(ranges, negated) => text
                .get(from)
                .filter(|&&c| ranges.iter().any(|&(a, b)| a <= c && c <= b) != *negated)
                .map(|_| from + 1)
                .into_iter()
                .collect(),
            Node::Start => (from == 0).then_some(from).into_iter().collect(),
            Node::End => (from == text.len()).then_some(from).into_iter().collect(),
            Node::Alt(options) => options.iter().flat_map(|o| ends(o, text, from)).collect(),
            Node::Seq(items) => items.iter().fold(vec![from], |starts, item| {
                starts.iter().flat_map(|&s| ends(item, text, s)).collect()
            }),
            Node::Repeat(inner, lo, hi) => {
                let mut out = Vec::new();
                let mut seen = std::collections::BTreeSet::<usize>::new();
                let mut frontier = vec![from];
                let mut count = 0;
                loop {
                    if count >= *lo {
                        out.extend(&frontier);
                        seen.extend(&frontier);
                    }
                    if count == *hi || frontier.is_empty() {
                        break;
                    }
                    let mut next: Vec<usize> = frontier
                        .iter()
                        .flat_map(|&s| ends(inner, text, s))
                        .collect();
                    next.sort_unstable();
                    next.dedup();
                    // Past the minimum, a position reached before adds nothing (and an inner
                    // pattern that matches nothing cannot loop).
                    if count >= *lo {
                        next.retain(|e| !seen.contains(e));
                    }
                    frontier = next;
                    count += 1;
                }
                out
            }
        };
        out.sort_unstable();
        out.dedup();
        out
    }
}
