//! CloudWatch Logs subscription payloads: how an organization trail's log group delivers its
//! records. The function receives `{"awslogs":{"data": base64(gzip(JSON))}}`; the JSON is a
//! `DATA_MESSAGE` whose `logEvents[].message` are CloudTrail records as JSON text, or a
//! `CONTROL_MESSAGE` (a health check of the subscription, with nothing to read).

use std::io::Read;

use base64::Engine;
use flate2::read::MultiGzDecoder;
use serde_json::Value;

/// Most decompressed bytes taken from one payload. CloudWatch Logs sends at most 1 MB of log
/// events per call; the bound keeps a crafted payload from inflating without end.
pub const MAX_DECODED_BYTES: u64 = 16 << 20;

/// Whether `value` is a subscription payload: `{"awslogs": {"data": ...}}`.
pub fn is_subscription(value: &Value) -> bool {
    value.pointer("/awslogs/data").is_some()
}

/// The decoded message of a subscription payload (`awslogs.data`); a payload without it is an
/// error too.
pub fn decode(value: &Value) -> Result<Value, String> {
    let data = value
        .pointer("/awslogs/data")
        .and_then(Value::as_str)
        .ok_or("CloudWatch Logs payload: awslogs.data is not a string")?;
    let gzip = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|e| format!("CloudWatch Logs payload: awslogs.data is not base64: {e}"))?;
    let mut json = Vec::new();
    MultiGzDecoder::new(gzip.as_slice())
        .take(MAX_DECODED_BYTES + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!("CloudWatch Logs payload: awslogs.data is not gzip: {e}"))?;
    if json.len() as u64 > MAX_DECODED_BYTES {
        return Err(format!(
            "CloudWatch Logs payload: more than {MAX_DECODED_BYTES} bytes once inflated"
        ));
    }
    serde_json::from_slice(&json)
        .map_err(|e| format!("CloudWatch Logs payload: the inflated data is not JSON: {e}"))
}

/// What a decoded message holds.
#[derive(Debug, PartialEq)]
pub enum Message {
    /// The log events' messages, parsed, in order; an event whose message is not JSON is an
    /// error naming its id (the others are still read).
    Data {
        log_group: Option<String>,
        records: Vec<Result<Value, String>>,
    },
    /// A health check of the subscription.
    Control,
}

/// Whether `value` is a decoded message (`messageType` and `logEvents`).
pub fn is_message(value: &Value) -> bool {
    value.get("messageType").is_some() && value.get("logEvents").is_some()
}

/// Reads a decoded message.
pub fn message(value: &Value) -> Result<Message, String> {
    match value.get("messageType").and_then(Value::as_str) {
        Some("CONTROL_MESSAGE") => return Ok(Message::Control),
        Some("DATA_MESSAGE") => {}
        other => {
            return Err(format!(
                "CloudWatch Logs message of type {other:?}, not DATA_MESSAGE or CONTROL_MESSAGE"
            ))
        }
    }
    let events = value
        .get("logEvents")
        .and_then(Value::as_array)
        .ok_or("CloudWatch Logs DATA_MESSAGE without a logEvents array")?;
    let records = events
        .iter()
        .enumerate()
        .map(|(i, event)| {
            let id = event.get("id").and_then(Value::as_str).unwrap_or("?");
            let text = event
                .get("message")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("log event {} (id {id}) has no message", i + 1))?;
            serde_json::from_str(text).map_err(|e| {
                format!(
                    "log event {} (id {id}): message is not a JSON record: {e}",
                    i + 1
                )
            })
        })
        .collect();
    Ok(Message::Data {
        log_group: value
            .get("logGroup")
            .and_then(Value::as_str)
            .map(str::to_owned),
        records,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use base64::engine::general_purpose::STANDARD;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use serde_json::json;

    use super::*;

    /// A subscription payload around `text` (the JSON of a message, or not), as CloudWatch
    /// Logs builds it: base64 of gzip.
    fn payload(text: &[u8]) -> Value {
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(text).unwrap();
        json!({"awslogs": {"data": STANDARD.encode(gz.finish().unwrap())}})
    }

    fn data_message(messages: &[&str]) -> Value {
        json!({
            "messageType": "DATA_MESSAGE", "owner": "111111111111",
            "logGroup": "aws-cloudtrail-logs-o-org", "logStream": "s",
            "subscriptionFilters": ["f"],
            "logEvents": messages.iter().enumerate()
                .map(|(i, m)| json!({"id": i.to_string(), "timestamp": 0, "message": m}))
                .collect::<Vec<_>>(),
        })
    }

    #[test]
    fn a_payload_decodes_to_its_records() {
        let message_json = data_message(&[r#"{"eventName":"A"}"#, "not json"]).to_string();
        let payload = payload(message_json.as_bytes());
        assert!(is_subscription(&payload));
        let decoded = decode(&payload).unwrap();
        assert!(is_message(&decoded));
        let Message::Data { log_group, records } = message(&decoded).unwrap() else {
            panic!("not data");
        };
        assert_eq!(log_group.as_deref(), Some("aws-cloudtrail-logs-o-org"));
        assert_eq!(records[0], Ok(json!({"eventName": "A"})));
        let error = records[1].as_ref().unwrap_err();
        assert!(error.starts_with("log event 2 (id 1): message is not a JSON record"));
    }

    #[test]
    fn control_messages_hold_nothing() {
        let control = json!({"messageType": "CONTROL_MESSAGE", "logEvents": [
            {"id": "", "timestamp": 0, "message": "CWL CONTROL MESSAGE: Checking health of destination Lambda."}]});
        assert_eq!(message(&control), Ok(Message::Control));
    }

    #[test]
    fn malformed_payloads_say_what_is_wrong() {
        let cases = [
            (
                json!({"awslogs": {"data": 5}}),
                "awslogs.data is not a string",
            ),
            (
                json!({"awslogs": {"data": "%%%"}}),
                "awslogs.data is not base64",
            ),
            (
                json!({"awslogs": {"data": "aGVsbG8="}}),
                "awslogs.data is not gzip",
            ),
        ];
        for (payload, expected) in cases {
            let error = decode(&payload).unwrap_err();
            assert!(error.contains(expected), "{error}");
        }
        assert!(decode(&payload(b"{nope")).unwrap_err().contains("not JSON"));
        assert!(message(&json!({"messageType": "OTHER", "logEvents": []}))
            .unwrap_err()
            .contains("\"OTHER\""));
    }
}
