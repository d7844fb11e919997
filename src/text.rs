//! Small text helpers shared by every stage that copies input into output: cutting a string
//! to a byte budget, keeping a field from forging lines, and recognising account ids. Record
//! fields are partly chosen by whoever made the call (`userAgent`, resource ids), so each
//! place that shows one bounds and cleans it with these, the same way.

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `s` bounded to `max` bytes in all: cut at a character boundary with `mark` appended when
/// it is longer.
pub fn clip_with(s: &str, max: usize, mark: &str) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    format!("{}{mark}", prefix(s, max.saturating_sub(mark.len())))
}

/// Control characters (a crafted record field could carry line breaks) shown as `?`, so that
/// a field cannot forge lines of the text around it.
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Printable ASCII only (SNS subjects allow no control characters), at most `max` characters,
/// with `~` when cut.
pub fn ascii_safe(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .take(max)
        .collect();
    if s.chars().count() > max {
        out.push('~');
    }
    out
}

/// The start of a text for log lines about input we could not use: quoted, at most 80 bytes.
pub fn preview(text: &str) -> String {
    let head = prefix(text, 80);
    let cut = if head.len() < text.len() { "…" } else { "" };
    format!("{head:?}{cut}")
}

/// Whether `s` is an AWS account id: twelve ASCII digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_fall_on_character_boundaries_and_stay_within_budget() {
        assert_eq!(prefix("abc", 5), "abc");
        assert_eq!(prefix("aé", 2), "a");
        let long = "é".repeat(100);
        let clipped = clip_with(&long, 21, "…[x]");
        assert!(
            clipped.len() <= 21 && clipped.ends_with("…[x]"),
            "{clipped}"
        );
        assert_eq!(clip_with("short", 21, "…"), "short");
        assert_eq!(preview(&"x".repeat(100)), format!("{:?}…", "x".repeat(80)));
        assert_eq!(preview("a\nb"), "\"a\\nb\"");
    }

    #[test]
    fn fields_cannot_forge_lines() {
        assert_eq!(printable("a\nb\u{7}"), "a?b?");
        assert_eq!(ascii_safe("snap-\n1", 32), "snap-?1");
        assert_eq!(ascii_safe("abcdef", 3), "abc~");
    }

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!(is_account_id("111122223333"));
        for odd in ["1111", "11112222333a", "1111222233334", ""] {
            assert!(!is_account_id(odd), "{odd}");
        }
    }
}
