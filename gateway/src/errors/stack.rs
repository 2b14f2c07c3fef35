//! Stack strings → frames, for the three formats browsers write `Error.prototype.stack` in:
//!
//! * Chromium (V8, also Node): a header line `TypeError: message`, then one frame a line,
//!   `    at fn (url:line:col)`, `    at url:line:col` (anonymous), `    at async fn (…)`,
//!   `    at new Foo (…)`, `    at Array.forEach (<anonymous>)`, and eval frames
//!   `    at eval (eval at fn (url:line:col), <anonymous>:1:1)`
//!   (<https://v8.dev/docs/stack-trace-api>);
//! * Firefox (SpiderMonkey): no header, `fn@url:line:col`, `@url:line:col` (anonymous),
//!   `fn/<@url:…` (a closure), eval frames `fn@url line 7 > eval:1:5`
//!   (<https://developer.mozilla.org/docs/Web/JavaScript/Reference/Global_Objects/Error/stack>);
//! * Safari (JavaScriptCore): no header, `fn@url:line:col`, `global code@url:line:col`,
//!   `url:line:col` (a frame without a function), `[native code]`, `eval code@`.
//!
//! The rules follow what Sentry's JavaScript SDK parses (`packages/core/src/utils/stacktrace.ts`
//! and `packages/browser/src/stack-parsers.ts`): a line that is not a frame (the header, a
//! message spanning lines) is skipped, so a message can never be read as a frame.

use crate::model::Frame;

/// Frames of `stack`, innermost first, at most `max_frames` (the rest counted in the second
/// value).
pub fn parse(stack: &str, max_frames: usize) -> (Vec<Frame>, usize) {
    let chromium = stack.lines().any(is_chromium_frame);
    let mut frames = Vec::new();
    let mut omitted = 0;
    for line in stack.lines() {
        let frame = if chromium {
            chromium_frame(line)
        } else {
            gecko_frame(line)
        };
        if let Some(frame) = frame {
            if frames.len() < max_frames {
                frames.push(frame);
            } else {
                omitted += 1;
            }
        }
    }
    (frames, omitted)
}

fn is_chromium_frame(line: &str) -> bool {
    line.trim_start().starts_with("at ") && line.starts_with(char::is_whitespace)
}

/// `url:line:col`, `url:line` or `url` → its parts. The numbers are read from the right, so a
/// URL's own port (`http://host:8080/a.js:1:2`) stays in the URL.
fn location(text: &str) -> (String, Option<u32>, Option<u32>) {
    let text = text.trim();
    let mut parts = text.rsplitn(3, ':');
    let last = parts.next().and_then(|p| p.parse::<u32>().ok());
    let middle = parts.next();
    match (last, middle) {
        (Some(col), Some(m)) => match (m.parse::<u32>().ok(), parts.next()) {
            (Some(line), Some(url)) => (url.to_string(), Some(line), Some(col)),
            // `url:line`: the number after the only colon that is one.
            _ => match text.rsplit_once(':') {
                Some((url, _)) if !url.ends_with('/') && !url.is_empty() => {
                    (url.to_string(), Some(col), None)
                }
                _ => (text.to_string(), None, None),
            },
        },
        _ => (text.to_string(), None, None),
    }
}

/// Whether a frame's file is the page's own code: a web URL that is not a dependency, not
/// a browser extension and not native code.
pub fn in_app(url: &str) -> bool {
    let web = url.starts_with("http://")
        || url.starts_with("https://")
        || url.starts_with("file://")
        || url.starts_with('/');
    web && !url.contains("/node_modules/")
}

fn frame(function: Option<&str>, loc: &str) -> Frame {
    let (url, line, column) = location(loc);
    let function = function
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(String::from);
    Frame {
        in_app: in_app(&url),
        function,
        url,
        line,
        column,
        original: None,
        unresolved: None,
    }
}

/// One Chromium line → a frame, or `None` for the header and message lines.
fn chromium_frame(line: &str) -> Option<Frame> {
    if !is_chromium_frame(line) {
        return None;
    }
    let body = line.trim().strip_prefix("at ")?.trim();
    // `at async <anonymous>:1:2`: an async frame without a function.
    let body = body.strip_prefix("async ").unwrap_or(body);
    let Some(inner) = body.strip_suffix(')') else {
        // `at url:line:col`: no function.
        return Some(frame(None, body));
    };
    // The location is the last balanced parenthesis group (an eval location nests one).
    let mut depth = 0usize;
    let mut open = None;
    for (i, c) in inner.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' if depth == 0 => {
                open = Some(i);
                break;
            }
            '(' => depth -= 1,
            _ => {}
        }
    }
    let Some(open) = open else {
        return Some(frame(None, body));
    };
    let function = inner[..open].trim();
    let function = function.strip_prefix("async ").unwrap_or(function);
    let loc = &inner[open + 1..];
    if let Some(eval) = loc.strip_prefix("eval at ") {
        // `eval at fn (url:line:col), <anonymous>:1:1`: the script that called eval is where
        // the code lives; the innermost such location is the one a source map knows.
        return Some(frame(Some(function), eval_origin(eval)));
    }
    Some(frame(Some(function), loc))
}

/// The innermost `(url:line:col)` of an eval origin.
fn eval_origin(text: &str) -> &str {
    let mut rest = text;
    let mut found = text;
    while let Some(open) = rest.find('(') {
        let after = &rest[open + 1..];
        let end = after.find([')', ',']).unwrap_or(after.len());
        let candidate = &after[..end];
        if !candidate.starts_with("eval at ") {
            found = candidate;
        }
        rest = after;
    }
    found
}

/// The `@` that starts a frame's location: the first one followed by a URL scheme, a path or
/// `[native code]` (a function may be named `obj["@who"]`, and a URL may hold an `@`).
fn location_at(line: &str) -> Option<usize> {
    let starts_location = |rest: &str| {
        rest.starts_with('/')
            || rest.starts_with('[')
            || rest.split_once(':').is_some_and(|(scheme, _)| {
                !scheme.is_empty()
                    && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
            })
    };
    let mut first = None;
    for (i, _) in line.match_indices('@') {
        first.get_or_insert(i);
        if starts_location(&line[i + 1..]) {
            return Some(i);
        }
    }
    first
}

/// One Firefox or Safari line → a frame.
fn gecko_frame(line: &str) -> Option<Frame> {
    let line = line.trim();
    if line.is_empty() {
        return None;
    }
    let (function, loc) = match location_at(line) {
        Some(at) => (Some(&line[..at]), &line[at + 1..]),
        None if line == "[native code]" || location(line).1.is_some() => (None, line),
        None => return None,
    };
    // Firefox eval: `url line 7 > eval:1:5` (and nested `> eval line 2 > eval`) → the
    // calling script's URL and line.
    if let Some((url, rest)) = loc.split_once(" line ") {
        if rest.contains("> eval") || rest.contains("> Function") {
            let line_no = rest
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|n| n.parse().ok());
            let mut f = frame(function, url);
            f.line = line_no;
            f.column = None;
            return Some(f);
        }
    }
    let function = function.map(|f| f.trim_end_matches("/<").trim_end_matches('*'));
    Some(frame(function, loc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> (Option<String>, String, Option<u32>, Option<u32>) {
        let (frames, _) = parse(line, 10);
        let f = frames.into_iter().next().expect("a frame");
        (f.function, f.url, f.line, f.column)
    }

    #[test]
    fn chromium_shapes() {
        assert_eq!(
            one("Error: x\n    at levelTwo (http://h:8080/a.min.js:1:234)"),
            (
                Some("levelTwo".into()),
                "http://h:8080/a.min.js".into(),
                Some(1),
                Some(234)
            )
        );
        assert_eq!(
            one("    at http://h/a.js:3:4"),
            (None, "http://h/a.js".into(), Some(3), Some(4))
        );
        assert_eq!(
            one("    at async run (http://h/a.js:3:4)").0.as_deref(),
            Some("run")
        );
        assert_eq!(
            one("    at eval (eval at outer (http://h/a.js:5:6), <anonymous>:1:1)"),
            (
                Some("eval".into()),
                "http://h/a.js".into(),
                Some(5),
                Some(6)
            )
        );
        assert_eq!(
            one("    at Array.forEach (<anonymous>)"),
            (
                Some("Array.forEach".into()),
                "<anonymous>".into(),
                None,
                None
            )
        );
    }

    #[test]
    fn firefox_and_safari_shapes() {
        assert_eq!(
            one("levelTwo@http://h/a.js:1:2"),
            (
                Some("levelTwo".into()),
                "http://h/a.js".into(),
                Some(1),
                Some(2)
            )
        );
        assert_eq!(one("@http://h/a.js:1:2").0, None);
        assert_eq!(one("outer/<@http://h/a.js:1:2").0.as_deref(), Some("outer"));
        assert_eq!(
            one("fn@http://h/a.js line 7 > eval:1:5"),
            (Some("fn".into()), "http://h/a.js".into(), Some(7), None)
        );
        assert_eq!(
            one("global code@http://h/a.js:9:1").0.as_deref(),
            Some("global code")
        );
        assert_eq!(
            one("http://h/a.js:9:1"),
            (None, "http://h/a.js".into(), Some(9), Some(1))
        );
        assert_eq!(one("[native code]").1, "[native code]");
    }

    #[test]
    fn frames_past_the_cap_are_counted_and_messages_are_not_frames() {
        let stack = "Error: at the start\nsecond line of the message\n    at a (http://h/a.js:1:1)\n    at b (http://h/a.js:2:1)\n    at c (http://h/a.js:3:1)";
        let (frames, omitted) = parse(stack, 2);
        assert_eq!(frames.len(), 2);
        assert_eq!(omitted, 1);
        assert!(frames[0].in_app);
        assert!(!in_app("chrome-extension://abc/x.js"));
        assert!(!in_app("https://h/node_modules/react/index.js"));
    }
}
