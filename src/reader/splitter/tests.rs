use super::machine::find_control;
use super::*;

/// Splits `input`, fed `chunk` bytes at a time, into record strings or the first error.
fn split(input: &str, chunk: usize) -> Result<Vec<String>, SyntaxError> {
    let bytes = input.as_bytes();
    let mut sp = Splitter::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut fed = 0;
    let mut out = Vec::new();
    loop {
        match sp.next(&buf) {
            Step::Record { start, end } => {
                out.push(String::from_utf8(buf[start..end].to_vec()).unwrap())
            }
            Step::Dropped { len } => out.push(format!("<dropped {len}>")),
            Step::Error(e) => return Err(e),
            Step::NeedMore => {
                let keep = sp.retain_from();
                buf.drain(..keep);
                sp.discard(keep);
                if fed == bytes.len() {
                    if let Some(Step::Record { start, end }) = sp.finish(&buf)? {
                        out.push(String::from_utf8(buf[start..end].to_vec()).unwrap());
                    }
                    return Ok(out);
                }
                let n = chunk.min(bytes.len() - fed);
                buf.extend_from_slice(&bytes[fed..fed + n]);
                fed += n;
            }
        }
    }
}

/// The same result whatever the chunk size: resuming mid-token must not change anything.
fn split_all_chunks(input: &str) -> Result<Vec<String>, SyntaxError> {
    let whole = split(input, usize::MAX);
    for chunk in [1, 2, 3, 7, 64] {
        assert_eq!(
            split(input, chunk),
            whole,
            "chunk size {chunk} on {input:?}"
        );
    }
    whole
}

#[test]
fn log_file_records_are_the_elements_of_records() {
    let got = split_all_chunks(r#"{"Records":[{"a":1},{"b":"x\"]}"} , [2] ]}"#).unwrap();
    assert_eq!(got, vec![r#"{"a":1}"#, r#"{"b":"x\"]}"}"#, "[2]"]);
}

#[test]
fn records_must_be_the_first_key_and_an_array_to_stream() {
    // Not first: the whole object is one record (the reader classifies it later).
    let got = split_all_chunks(r#"{"x":1,"Records":[{"a":1}]}"#).unwrap();
    assert_eq!(got, vec![r#"{"x":1,"Records":[{"a":1}]}"#]);
    let got = split_all_chunks(r#"{"Records":{"a":1}}"#).unwrap();
    assert_eq!(got, vec![r#"{"Records":{"a":1}}"#]);
    // A key that merely starts like Records.
    let got = split_all_chunks(r#"{"RecordsX":[1]}"#).unwrap();
    assert_eq!(got, vec![r#"{"RecordsX":[1]}"#]);
}

#[test]
fn other_members_of_a_log_file_are_checked_but_not_records() {
    let got = split_all_chunks(r#"{"Records":[{"a":1}],"more":[{"b":2}],"n":null}"#).unwrap();
    assert_eq!(got, vec![r#"{"a":1}"#]);
}

#[test]
fn every_records_array_of_a_log_file_is_read() {
    let input = r#"{"Records":[{"a":1}],"x":{"Records":[0]},"Records":[{"b":2},{"c":3}]}"#;
    assert_eq!(
        split_all_chunks(input).unwrap(),
        [r#"{"a":1}"#, r#"{"b":2}"#, r#"{"c":3}"#]
    );
    // A later `Records` that is not an array is a member like any other.
    let input = r#"{"Records":[{"a":1}],"Records":{"b":2}}"#;
    assert_eq!(split_all_chunks(input).unwrap(), [r#"{"a":1}"#]);
}

#[test]
fn arrays_json_lines_and_concatenated_files() {
    assert_eq!(
        split_all_chunks("[{\"a\":1},\n {\"b\":[1,2]}]").unwrap(),
        vec![r#"{"a":1}"#, r#"{"b":[1,2]}"#]
    );
    assert_eq!(
        split_all_chunks("{\"a\":1}\n{\"b\":2}\n").unwrap(),
        vec![r#"{"a":1}"#, r#"{"b":2}"#]
    );
    assert_eq!(
        split_all_chunks(r#"{"Records":[{"a":1}]}{"Records":[{"b":2}]}"#).unwrap(),
        vec![r#"{"a":1}"#, r#"{"b":2}"#]
    );
    assert_eq!(split_all_chunks(" \n ").unwrap(), Vec::<String>::new());
}

#[test]
fn top_level_scalars_are_records() {
    assert_eq!(
        split_all_chunks("12 -0.5e+3").unwrap(),
        vec!["12", "-0.5e+3"]
    );
    assert_eq!(
        split_all_chunks("true \"s\" null").unwrap(),
        vec!["true", "\"s\"", "null"]
    );
}

#[test]
fn strict_grammar() {
    let bad = [
        (r#"{"a":01}"#, "leading zero"),
        (r#"{"a":1.}"#, "malformed number"),
        (r#"{"a":-}"#, "malformed number"),
        (r#"{"a":tru}"#, "invalid literal"),
        (r#"{"a" 1}"#, "expected ':'"),
        (r#"{"a":1 "b":2}"#, "expected ','"),
        (r#"{"a":1,}"#, "expected a string key"),
        (r#"[1,]"#, "expected a value"),
        (r#"[1}"#, "expected ',' or ']'"),
        (r#"{"a":"\x"}"#, "invalid escape"),
        (r#"{"a":"\u12G4"}"#, "invalid \\u"),
        ("{\"a\":\"line\nbreak\"}", "control character"),
        (r#"{1:2}"#, "expected a string key"),
        (r#"{"Records":[{"a":1}{"b":2}]}"#, "expected ',' or ']'"),
    ];
    for (input, want) in bad {
        let err = split_all_chunks(input).unwrap_err();
        assert!(err.message.contains(want), "{input}: {err}");
    }
}

#[test]
fn truncated_input_is_an_error_at_the_end() {
    for input in [
        r#"{"Records":[{"a":1},{"b""#,
        r#"{"a":"x"#,
        r#"[1,2"#,
        r#"{"a":tr"#,
        "-",
    ] {
        let err = split_all_chunks(input).unwrap_err();
        assert_eq!(err.offset, input.len() as u64, "{input}");
    }
    // Records that completed before the cut were still returned.
    let bytes = br#"{"Records":[{"a":1},{"b""#;
    let mut sp = Splitter::new();
    assert_eq!(sp.next(bytes), Step::Record { start: 12, end: 19 });
}

#[test]
fn json_lines_recover_at_the_next_line() {
    let input = "{\"a\":1}\n{\"b\" 2}\n{\"c\":3}\n";
    let mut sp = Splitter::new();
    let buf = input.as_bytes();
    assert_eq!(sp.next(buf), Step::Record { start: 0, end: 7 });
    let Step::Error(e) = sp.next(buf) else {
        panic!("expected an error")
    };
    assert!(e.recoverable);
    sp.recover();
    assert_eq!(sp.next(buf), Step::Record { start: 16, end: 23 });
    assert_eq!(sp.next(buf), Step::NeedMore);
}

#[test]
fn errors_in_log_files_are_not_recoverable() {
    let Err(e) = split_all_chunks(r#"{"Records":[{"a":1} x]}"#) else {
        panic!()
    };
    assert!(!e.recoverable);
}

#[test]
fn dropped_records_are_skipped_but_scanning_goes_on() {
    let input = br#"{"Records":[{"big":"0123456789"},{"b":2}]}"#;
    let mut sp = Splitter::new();
    // Feed up to the middle of the first record, then drop it.
    assert_eq!(sp.next(&input[..20]), Step::NeedMore);
    assert_eq!(sp.kept_len(), Some(8));
    sp.drop_record();
    let keep = sp.retain_from();
    assert_eq!(keep, 20);
    sp.discard(keep);
    let rest = &input[20..];
    assert_eq!(sp.next(rest), Step::Dropped { len: 20 });
    assert_eq!(sp.next(rest), Step::Record { start: 13, end: 20 });
}

#[test]
fn nesting_is_bounded() {
    let deep = "[".repeat(MAX_DEPTH + 1);
    let err = split(&deep, usize::MAX).unwrap_err();
    assert_eq!(err.message, "nesting too deep");
}

#[test]
fn find_control_finds_the_first() {
    assert_eq!(find_control(b"abcdefghij\x01k"), Some(10));
    assert_eq!(find_control(b"\x1f"), Some(0));
    assert_eq!(find_control(b"plain ascii and \xc3\xa9 utf8 bytes"), None);
    assert_eq!(
        find_control(&[0x7f, 0x80, 0xff, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25]),
        None
    );
}
