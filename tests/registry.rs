//! The rule registry and the templates agree: every call a rule reads reaches the detector by
//! every path the templates build (the EventBridge rule of the detector's stack, the forwarder
//! each member account runs, the organization trail's log group subscription), and nothing
//! else does. A new rule's calls forgotten in one template fail here, not silently in an
//! account.

mod support;

use std::collections::BTreeSet;

use snapshot_share_detector::rule::{self, RULES};
use support::cfn::load;
use support::patterns::{
    eventbridge_patterns, filter_event_names, filter_event_sources, subscription_filter_event_names,
};

/// Names, sorted and once each.
type Names = BTreeSet<String>;

fn set<'a>(items: impl IntoIterator<Item = &'a String>) -> Names {
    items.into_iter().cloned().collect()
}

/// What the registry says reaches the detector: EventBridge sources, event sources, names.
fn registry() -> (Names, Names, Names) {
    let calls: Vec<_> = rule::calls().collect();
    (
        calls.iter().map(|c| c.eventbridge_source()).collect(),
        calls.iter().map(|c| c.source.to_owned()).collect(),
        calls.iter().map(|c| c.name.to_owned()).collect(),
    )
}

/// The EventBridge rules of a template that select CloudTrail calls (their pattern names
/// `detail.eventSource`), with what they select.
fn call_rules(path: &str) -> Vec<(String, Names, Names, Names)> {
    eventbridge_patterns(&load(path))
        .into_iter()
        .filter(|(_, _, event_sources, _)| !event_sources.is_empty())
        .map(|(id, sources, event_sources, names)| {
            (id, set(&sources), set(&event_sources), set(&names))
        })
        .collect()
}

#[test]
fn every_eventbridge_rule_selects_exactly_the_calls_of_the_registry() {
    let (sources, event_sources, names) = registry();
    for path in ["template.yaml", "forwarder.yaml"] {
        let rules = call_rules(path);
        assert!(
            !rules.is_empty(),
            "{path}: no EventBridge rule selects CloudTrail calls"
        );
        for (id, got_sources, got_event_sources, got_names) in rules {
            assert_eq!(got_sources, sources, "{path} {id}: source");
            assert_eq!(
                got_event_sources, event_sources,
                "{path} {id}: detail.eventSource"
            );
            assert_eq!(got_names, names, "{path} {id}: detail.eventName");
        }
    }
}

#[test]
fn the_log_group_subscription_passes_exactly_the_calls_of_the_registry() {
    let (_, event_sources, names) = registry();
    let filters = subscription_filter_event_names(&load("template.yaml"));
    assert!(!filters.is_empty(), "template.yaml: no subscription filter");
    for (id, pattern) in filters {
        let got_sources: Names = filter_event_sources(&pattern).into_iter().collect();
        let got_names: Names = filter_event_names(&pattern).into_iter().collect();
        assert_eq!(
            got_sources, event_sources,
            "{id}: $.eventSource in {pattern}"
        );
        assert_eq!(got_names, names, "{id}: $.eventName in {pattern}");
    }
}

#[test]
fn the_prefilter_passes_every_call_a_rule_reads_and_no_other() {
    let prefilter = rule::Prefilter::default();
    for rule in RULES {
        for call in rule.reads {
            let record = format!(
                r#"{{"eventSource":"{}","eventName":"{}"}}"#,
                call.source, call.name
            );
            assert!(prefilter.may_match(record.as_bytes()), "{}", call.name);
        }
    }
    for other in [
        "DescribeSnapshots",
        "CreateSnapshot",
        "RunInstances",
        "GetObject",
    ] {
        let record = format!(r#"{{"eventSource":"ec2.amazonaws.com","eventName":"{other}"}}"#);
        assert!(!prefilter.may_match(record.as_bytes()), "{other}");
    }
}
