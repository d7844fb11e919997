//! What each kind of subscriber gets: the e-mail text, the Amazon Q Developer (AWS Chatbot)
//! custom notification, and, for queues, the JSON finding exactly, read back from moto.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use snapshot_share_detector::cloudtrail::Record;
use snapshot_share_detector::finding::Finding;
use snapshot_share_detector::rule::{self, TrustedAccounts};
use snapshot_share_detector::sink::sns::{
    batch_entry_as, chatbot_message, email_text, message, subject, NotificationFormat,
};
use snapshot_share_detector::sink::{message, Sink, SnsSink};
use support::moto::{clients, moto, topic, Clients, Topic};
use support::records::json_file;

fn event_findings(path: &str) -> Vec<Finding> {
    let event = json_file(path);
    let record = Record::new(&event["detail"]).unwrap();
    rule::detect(
        &record,
        event["account"].as_str(),
        &TrustedAccounts::default(),
        Some(path),
    )
}

fn share() -> Finding {
    event_findings("events/eventbridge-share-foreign-account.json").remove(0)
}

fn public() -> Finding {
    event_findings("events/eventbridge-share-public.json").remove(0)
}

fn used() -> Finding {
    event_findings("events/eventbridge-used-copy.json").remove(0)
}

#[test]
fn email_gets_text_and_every_other_protocol_the_finding() {
    for f in [share(), public(), used()] {
        let (body, structured) = message(&f, false, NotificationFormat::Json);
        assert!(structured);
        let v: Value = serde_json::from_str(&body).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["default", "email"],
            "the smallest message that does it"
        );
        assert_eq!(v["default"], f.to_json(), "byte for byte the finding");
        assert_eq!(v["email"], email_text(&f));
        // FIFO topics take queues only: the finding alone.
        assert_eq!(
            message(&f, true, NotificationFormat::Chatbot),
            (f.to_json(), false)
        );
        let entry = batch_entry_as(0, &f, false, NotificationFormat::Json).unwrap();
        assert_eq!(entry.message_structure(), Some("json"));
        assert_eq!(entry.message(), body);
    }
}

#[test]
fn the_email_text_says_who_what_when_where_and_what_next() {
    let text = email_text(&share());
    for want in [
        "EBS snapshot snap-041993b54a9b3af6f of account 756680937392 was shared with account \
         098797384747 by arn:aws:iam::756680937392:user/christophe.",
        "What happened",
        "When                 2024-08-01T12:28:02Z",
        "Shared with account  098797384747",
        "Owner account        756680937392 (region me-central-3r)",
        "By                   arn:aws:iam::756680937392:user/christophe (IAMUser)",
        "From                 253.76.43.253",
        "Log file             events/eventbridge-share-foreign-account.json",
        "What to do next",
        "TRUSTED_ACCOUNT_IDS",
        "aws ec2 modify-snapshot-attribute --snapshot-id snap-041993b54a9b3af6f --attribute \
         createVolumePermission --operation-type remove --user-ids 098797384747 --region \
         me-central-3r",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    let text = email_text(&used());
    for want in [
        "EBS snapshot snap-12345 of account 111111111111 was copied by account 999999999999.",
        "Used by account   999999999999",
        "By                the service ec2.amazonaws.com",
        "high",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    assert!(email_text(&public()).contains("--group-names all"));
    // A line break in a record field cannot forge a line of the text.
    let mut f = share();
    f.user_agent.as_mut().unwrap().original = "x\nWhen  1999-01-01".to_owned();
    assert!(!email_text(&f).contains("\nWhen  1999"));
}

#[test]
fn the_chat_notification_follows_the_custom_schema() {
    for f in [share(), public(), used()] {
        let m = chatbot_message(&f);
        assert_eq!(m["version"], "1.0");
        assert_eq!(m["source"], "custom");
        assert_eq!(m["id"], f.finding_id.as_str());
        let c = &m["content"];
        assert_eq!(c["textType"], "client-markdown");
        assert!(c["title"].as_str().unwrap().contains(&f.rule.severity));
        assert!(c["description"].as_str().unwrap().contains("*Snapshot*"));
        assert!(!c["nextSteps"].as_array().unwrap().is_empty());
        assert!(c["nextSteps"]
            .as_array()
            .unwrap()
            .iter()
            .all(Value::is_string));
        assert_eq!(m["metadata"]["threadId"], f.resource.id.as_deref().unwrap());
        assert_eq!(m["metadata"]["eventType"], f.event.action.as_str());
        assert_eq!(
            m["metadata"]["additionalContext"]["rule_id"],
            f.rule.id.as_str()
        );
        // additionalContext takes strings only.
        for v in m["metadata"]["additionalContext"]
            .as_object()
            .unwrap()
            .values()
        {
            assert!(v.is_string());
        }
        // The other keys of the schema, and no more.
        let top: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(top, ["content", "id", "metadata", "source", "version"]);
    }
    let m = chatbot_message(&used());
    assert_eq!(
        m["content"]["title"],
        ":rotating_light: [high] EBS snapshot snap-12345 copied by 999999999999"
    );

    let (body, structured) = message(&used(), false, NotificationFormat::Chatbot);
    assert!(structured);
    let v: Value = serde_json::from_str(&body).unwrap();
    let f = used();
    assert_eq!(v["default"], chatbot_message(&f).to_string());
    for machine in ["sqs", "lambda", "firehose", "email-json"] {
        assert_eq!(v[machine], f.to_json(), "{machine}");
    }
    assert_eq!(v["email"], email_text(&f));
}

/// The page of the documentation that shows what each subscriber receives.
const FINDINGS_DOC: &str = "docs/findings.md";

/// That page's fenced block of `lang` that follows the first line containing `after`.
fn doc_block(after: &str, lang: &str) -> String {
    let doc = std::fs::read_to_string(FINDINGS_DOC).unwrap();
    let start = doc
        .find(after)
        .unwrap_or_else(|| panic!("{FINDINGS_DOC}: {after}"));
    let fence = format!("```{lang}\n");
    let body = start + doc[start..].find(&fence).unwrap() + fence.len();
    let end = body + doc[body..].find("\n```").unwrap();
    doc[body..end].to_owned()
}

/// Whether the documentation's abbreviated JSON says only what `actual` holds: "…" in a
/// string stands for any text, an array ending in "…" for the rest of its items; objects have
/// the same keys.
fn abbreviates(doc: &Value, actual: &Value) -> bool {
    match (doc, actual) {
        (Value::String(r), Value::String(a)) if r.contains('…') => {
            let mut rest = a.as_str();
            r.split('…').all(|piece| match rest.find(piece) {
                Some(at) => {
                    rest = &rest[at + piece.len()..];
                    true
                }
                None => false,
            })
        }
        (Value::Array(r), Value::Array(a)) => match r.split_last() {
            Some((Value::String(last), head)) if last == "…" => {
                a.len() > head.len() && head.iter().zip(a).all(|(r, a)| abbreviates(r, a))
            }
            _ => r.len() == a.len() && r.iter().zip(a).all(|(r, a)| abbreviates(r, a)),
        },
        (Value::Object(r), Value::Object(a)) => {
            r.len() == a.len()
                && r.iter()
                    .all(|(k, v)| a.get(k).is_some_and(|a| abbreviates(v, a)))
        }
        _ => doc == actual,
    }
}

/// `docs/findings.md` ("What each subscriber receives") shows what the code writes for
/// `events/eventbridge-used-copy.json`: the e-mail text whole, and the chat card abbreviated but
/// otherwise exact.
#[test]
fn the_documented_examples_are_what_the_code_writes() {
    let f = used();
    let email = doc_block("### What each subscriber receives", "text");
    assert_eq!(email, email_text(&f).trim_end());

    let card: Value =
        serde_json::from_str(&doc_block("With `NOTIFICATION_FORMAT=chatbot`", "json")).unwrap();
    let actual = chatbot_message(&f);
    assert!(
        abbreviates(&card, &actual),
        "the card of {FINDINGS_DOC}:\n{card:#}\nthe code's:\n{actual:#}"
    );
    // The comparison is not vacuous: a changed value is caught.
    let mut changed = actual.clone();
    changed["metadata"]["threadId"] = Value::from("snap-other");
    assert!(!abbreviates(&card, &changed));
}

/// An HTTP endpoint on loopback that answers 200 and hands over each request body.
fn http_endpoint() -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            let _ = tx.send(String::from_utf8_lossy(&body).into_owned());
        }
    });
    (url, rx)
}

async fn setup() -> (Clients, Topic) {
    let c = clients(moto()).await;
    let t = topic(&c, false).await;
    (c, t)
}

/// The queue's messages, as SNS delivered them (the envelope), until `n` arrived.
async fn queue_messages(c: &Clients, t: &Topic, n: usize) -> Vec<Value> {
    let mut got = Vec::new();
    for _ in 0..10 {
        let out = c
            .sqs
            .receive_message()
            .queue_url(&t.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for m in out.messages.unwrap_or_default() {
            got.push(serde_json::from_str(m.body().unwrap()).unwrap());
        }
        if got.len() >= n {
            break;
        }
    }
    got
}

#[tokio::test]
async fn aws_queues_get_the_finding_exactly_and_chat_endpoints_the_card() {
    let (c, t) = setup().await;
    let (url, bodies) = http_endpoint();
    c.sns
        .subscribe()
        .topic_arn(&t.arn)
        .protocol("http")
        .endpoint(&url)
        .send()
        .await
        .unwrap();
    let findings = vec![share(), used()];
    for format in [NotificationFormat::Json, NotificationFormat::Chatbot] {
        let sink = SnsSink::new(c.sns.clone(), &t.arn).with_format(format);
        assert_eq!(sink.publish(findings.clone()).await.unwrap().delivered, 2);

        let by_id = |id: &str| findings.iter().find(|f| f.finding_id == id).unwrap();
        let got = queue_messages(&c, &t, 2).await;
        assert_eq!(got.len(), 2, "{format:?}");
        for m in &got {
            // The queue subscriber gets the JSON finding, byte for byte.
            let text = m["Message"].as_str().unwrap();
            let id: Value = serde_json::from_str(text).unwrap();
            let f = by_id(id["finding_id"].as_str().unwrap());
            assert_eq!(text, f.to_json(), "{format:?}");
            assert_eq!(
                m["MessageAttributes"]["finding_kind"]["Value"],
                message::kind(f)
            );
            assert_eq!(m["Subject"], subject(f));
        }
        c.sqs
            .purge_queue()
            .queue_url(&t.queue_url)
            .send()
            .await
            .unwrap();

        for _ in &findings {
            let body = bodies.recv_timeout(Duration::from_secs(10)).unwrap();
            let envelope: Value = serde_json::from_str(&body).unwrap();
            let delivered = envelope["Message"].as_str().unwrap();
            let v: Value = serde_json::from_str(delivered).unwrap();
            match format {
                NotificationFormat::Json => {
                    let f = by_id(v["finding_id"].as_str().unwrap());
                    assert_eq!(delivered, f.to_json());
                }
                NotificationFormat::Chatbot => {
                    let f = by_id(v["id"].as_str().unwrap());
                    assert_eq!(v, chatbot_message(f));
                }
            }
        }
    }
}
