//! What the templates let through to the detector, as lists of names: the `source`,
//! `detail.eventSource` and `detail.eventName` of each EventBridge rule's pattern, and the
//! `$.eventSource` and `$.eventName` values each CloudWatch Logs subscription filter accepts.
//! The same events reach the detector by several paths (its own rule, the forwarder's, a
//! CloudTrail log group); a test that says the paths agree compares these lists, read one way,
//! rather than copies of them written by hand.
//!
//! A list is empty when the pattern does not filter on that field (it then accepts any value).
//! What cannot be read as a list of exact values (an intrinsic function, a content filter, a
//! wildcard, a negation) panics with the rule or filter named: such a pattern must be read
//! with [`super::stack::Stack`] or by hand, not taken for "any value".

use std::collections::BTreeSet;

use serde_json::Value;

use super::cfn::resources;
use super::stack::is_intrinsic;

/// One EventBridge rule: its logical id, then its pattern's `source`, `detail.eventSource` and
/// `detail.eventName`.
pub type RulePattern = (String, Vec<String>, Vec<String>, Vec<String>);

/// For every `AWS::Events::Rule` with an `EventPattern` (a rule on a schedule alone has none and
/// is left out), by logical id: the pattern's `source`, `detail.eventSource` and
/// `detail.eventName`, each in the template's order, empty when absent.
pub fn eventbridge_patterns(t: &Value) -> Vec<RulePattern> {
    let mut out: Vec<RulePattern> = resources(t)
        .filter(|(_, r)| r["Type"] == "AWS::Events::Rule")
        .filter(|(_, r)| !r["Properties"]["EventPattern"].is_null())
        .map(|(name, r)| {
            let (sources, event_sources, event_names) =
                event_pattern_lists(name, &r["Properties"]["EventPattern"]);
            (name.clone(), sources, event_sources, event_names)
        })
        .collect();
    out.sort();
    out
}

/// One `EventPattern` (as written, or as [`super::stack::Stack::properties`] evaluates it):
/// `source`, `detail.eventSource` and `detail.eventName`, empty when absent. `at` names the
/// pattern in a panic. CloudFormation takes the pattern as an object or as its JSON text.
pub fn event_pattern_lists(at: &str, pattern: &Value) -> (Vec<String>, Vec<String>, Vec<String>) {
    let parsed;
    let pattern = match pattern {
        Value::Object(m) if m.len() == 1 && is_intrinsic(m.keys().next().unwrap()) => {
            panic!("{at}: the EventPattern is an intrinsic function: {pattern}")
        }
        Value::Object(_) => pattern,
        Value::String(text) => {
            parsed = serde_json::from_str::<Value>(text)
                .unwrap_or_else(|e| panic!("{at}: the EventPattern is not JSON ({e}): {text}"));
            &parsed
        }
        other => panic!("{at}: an EventPattern is an object: {other}"),
    };
    (
        exact_values(&format!("{at}: source"), &pattern["source"]),
        exact_values(
            &format!("{at}: detail.eventSource"),
            &pattern["detail"]["eventSource"],
        ),
        exact_values(
            &format!("{at}: detail.eventName"),
            &pattern["detail"]["eventName"],
        ),
    )
}

/// A pattern field's exact values: EventBridge takes a list there; a value other than a string
/// is a content filter (`{"prefix": ...}`) or an intrinsic, which no list of names stands for.
fn exact_values(at: &str, v: &Value) -> Vec<String> {
    match v {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => s.clone(),
                Value::Object(m) if m.len() == 1 && is_intrinsic(m.keys().next().unwrap()) => {
                    panic!("{at}: {item} is an intrinsic function, not a value")
                }
                other => panic!("{at}: {other} is a content filter, not an exact value"),
            })
            .collect(),
        other => panic!("{at}: not a list of values: {other}"),
    }
}

/// For every `AWS::Logs::SubscriptionFilter`, by logical id: its `FilterPattern` text, a plain
/// string or an `Fn::Sub` with nothing to substitute (`${!Literal}` is written `${Literal}`).
/// Read what the filter accepts with [`filter_event_names`] and [`filter_event_sources`].
pub fn subscription_filter_event_names(t: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = resources(t)
        .filter(|(_, r)| r["Type"] == "AWS::Logs::SubscriptionFilter")
        .map(|(name, r)| {
            let text = filter_pattern_text(name, &r["Properties"]["FilterPattern"]);
            (name.clone(), text)
        })
        .collect();
    out.sort();
    out
}

/// A `FilterPattern` as text: as written, or an `Fn::Sub` that substitutes nothing.
fn filter_pattern_text(at: &str, v: &Value) -> String {
    let sub = match v {
        Value::String(s) => return s.clone(),
        Value::Object(m) if m.len() == 1 => match m.get("Fn::Sub") {
            Some(Value::String(s)) => s.as_str(),
            Some(Value::Array(args)) if args.len() == 2 => args[0].as_str().unwrap_or_else(|| {
                panic!("{at}: FilterPattern: Fn::Sub of something else than text: {v}")
            }),
            _ => panic!("{at}: FilterPattern is not text: {v}"),
        },
        _ => panic!("{at}: FilterPattern is not text: {v}"),
    };
    let mut out = String::new();
    let mut rest = sub;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .unwrap_or_else(|| panic!("{at}: unclosed ${{ in {sub}"))
            + start;
        let name = &rest[start + 2..end];
        let literal = name.strip_prefix('!').unwrap_or_else(|| {
            panic!("{at}: FilterPattern substitutes ${{{name}}}: evaluate it with Stack")
        });
        out.push_str(&format!("${{{literal}}}"));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The `$.eventName` values a CloudWatch Logs JSON filter pattern accepts, sorted: see
/// [`filter_pattern_values`].
pub fn filter_event_names(pattern: &str) -> Vec<String> {
    filter_pattern_values(pattern, "$.eventName")
}

/// The `$.eventSource` values a CloudWatch Logs JSON filter pattern accepts, sorted: see
/// [`filter_pattern_values`].
pub fn filter_event_sources(pattern: &str) -> Vec<String> {
    filter_pattern_values(pattern, "$.eventSource")
}

/// The values of `selector` (`$.eventName`) that a CloudWatch Logs JSON filter pattern such as
/// `{ ($.eventName = "X") || ($.eventName = "Y") }` accepts, sorted and without repeats: the
/// `selector = "value"` terms, united by `||` and intersected by `&&` (which binds tighter), in
/// any grouping. Empty when the pattern accepts any value of it: an empty pattern, no term on
/// it, or a term on it `||` a term on another field. Panics on what is no list of exact values:
/// a `!=`, `<`, `>`, wildcard, regular expression, `IS` or `NOT EXISTS` term on the selector;
/// a pattern that can accept no value of it; a pattern that is not JSON (`{ ... }`).
pub fn filter_pattern_values(pattern: &str, selector: &str) -> Vec<String> {
    if pattern.trim().is_empty() {
        return Vec::new();
    }
    let tokens = tokenize(pattern);
    let mut p = Parser {
        tokens: &tokens,
        at: 0,
        selector,
        pattern,
    };
    p.expect(&Token::Open('{'));
    let accepted = p.or();
    p.expect(&Token::Close('}'));
    if p.at != tokens.len() {
        p.fail("text after the closing }");
    }
    match accepted {
        None => Vec::new(),
        Some(values) if values.is_empty() => {
            panic!("{pattern}: accepts no {selector} at all")
        }
        Some(values) => values.into_iter().collect(),
    }
}

#[derive(Debug, PartialEq)]
enum Token {
    Open(char),
    Close(char),
    And,
    Or,
    /// `=`, `!=`, `<`, `<=`, `>`, `>=`.
    Op(String),
    /// A quoted string, unescaped.
    Quoted(String),
    /// `%regex%`.
    Regex(String),
    /// A selector (`$.a.b`), an unquoted value, or a keyword (`IS`, `NOT`, `EXISTS`).
    Word(String),
}

fn tokenize(pattern: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '{' | '(' => {
                chars.next();
                out.push(Token::Open(c));
            }
            '}' | ')' => {
                chars.next();
                out.push(Token::Close(c));
            }
            '&' | '|' => {
                chars.next();
                assert_eq!(chars.next(), Some(c), "{pattern}: a single {c}");
                out.push(if c == '&' { Token::And } else { Token::Or });
            }
            '=' | '!' | '<' | '>' => {
                chars.next();
                let mut op = c.to_string();
                if chars.peek() == Some(&'=') {
                    op.push(chars.next().unwrap());
                }
                assert!(op != "!", "{pattern}: a ! without =");
                out.push(Token::Op(op));
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => s.push(chars.next().expect("an escape at the end")),
                        Some(c) => s.push(c),
                        None => panic!("{pattern}: unclosed quote"),
                    }
                }
                out.push(Token::Quoted(s));
            }
            '%' => {
                chars.next();
                let s: String = chars.by_ref().take_while(|&c| c != '%').collect();
                out.push(Token::Regex(s));
            }
            _ => {
                let mut s = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || "{}()&|=!<>\"%".contains(c) {
                        break;
                    }
                    s.push(c);
                    chars.next();
                }
                out.push(Token::Word(s));
            }
        }
    }
    out
}

/// A recursive descent over the tokens; each rule gives the accepted values of the selector,
/// `None` when it accepts any.
struct Parser<'a> {
    tokens: &'a [Token],
    at: usize,
    selector: &'a str,
    pattern: &'a str,
}

type Accepted = Option<BTreeSet<String>>;

impl<'a> Parser<'a> {
    fn fail(&self, what: &str) -> ! {
        panic!(
            "{}: {what} at token {} ({:?})",
            self.pattern,
            self.at,
            self.tokens.get(self.at)
        )
    }

    fn next(&mut self) -> Option<&'a Token> {
        let t = self.tokens.get(self.at);
        self.at += 1;
        t
    }

    fn expect(&mut self, token: &Token) {
        if self.tokens.get(self.at) != Some(token) {
            self.fail(&format!("expected {token:?}"));
        }
        self.at += 1;
    }

    fn or(&mut self) -> Accepted {
        let mut accepted = self.and();
        while self.tokens.get(self.at) == Some(&Token::Or) {
            self.at += 1;
            let right = self.and();
            accepted = match (accepted, right) {
                (Some(mut a), Some(b)) => {
                    a.extend(b);
                    Some(a)
                }
                _ => None,
            };
        }
        accepted
    }

    fn and(&mut self) -> Accepted {
        let mut accepted = self.atom();
        while self.tokens.get(self.at) == Some(&Token::And) {
            self.at += 1;
            let right = self.atom();
            accepted = match (accepted, right) {
                (Some(a), Some(b)) => Some(a.intersection(&b).cloned().collect()),
                (a, None) => a,
                (None, b) => b,
            };
        }
        accepted
    }

    fn atom(&mut self) -> Accepted {
        if self.tokens.get(self.at) == Some(&Token::Open('(')) {
            self.at += 1;
            let accepted = self.or();
            self.expect(&Token::Close(')'));
            return accepted;
        }
        let selector = match self.next() {
            Some(Token::Word(w)) if w.starts_with('$') => w.clone(),
            _ => {
                self.at -= 1;
                self.fail("expected a selector ($.field)")
            }
        };
        let ours = selector == self.selector;
        match self.next() {
            Some(Token::Op(op)) => {
                let op = op.clone();
                let value = match self.next() {
                    Some(Token::Quoted(v) | Token::Word(v)) => v.clone(),
                    Some(Token::Regex(r)) if !ours => r.clone(),
                    _ => {
                        self.at -= 1;
                        self.fail(&format!("expected a value for {selector} {op}"))
                    }
                };
                if !ours {
                    return None;
                }
                if op != "=" || value.contains('*') {
                    self.at -= 1;
                    self.fail(&format!(
                        "{selector} {op} {value:?} is no list of exact values"
                    ));
                }
                Some(BTreeSet::from([value]))
            }
            // `IS NULL`, `IS TRUE`, `IS FALSE`, `NOT EXISTS`.
            Some(Token::Word(w)) if w == "IS" || w == "NOT" => {
                let keyword = w.clone();
                if !matches!(self.next(), Some(Token::Word(_))) {
                    self.at -= 1;
                    self.fail(&format!("expected a word after {keyword}"));
                }
                if ours {
                    self.at -= 1;
                    self.fail(&format!("{selector} {keyword} ... is no list of values"));
                }
                None
            }
            _ => {
                self.at -= 1;
                self.fail(&format!("expected an operator after {selector}"))
            }
        }
    }
}
