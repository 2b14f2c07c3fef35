//! Masks secrets inside free text: e-mail addresses, payment card numbers (Luhn-checked)
//! and `Bearer` tokens.

use std::borrow::Cow;

use regex::Regex;

/// What replaces an e-mail address.
pub const EMAIL_MASK: &str = "[email]";
/// What replaces a card number.
pub const CARD_MASK: &str = "[card]";
/// What replaces a bearer token (the scheme word is kept so the text still reads).
pub const BEARER_MASK: &str = "Bearer [redacted]";

/// The compiled patterns; built once per gateway.
#[derive(Debug, Clone)]
pub struct TextMasks {
    email: Option<Regex>,
    card: Option<Regex>,
    bearer: Option<Regex>,
}

impl TextMasks {
    pub fn new(emails: bool, cards: bool, bearer: bool) -> TextMasks {
        // The patterns are constants: a failure to compile is a bug caught by the unit tests,
        // and then the rule is off rather than the gateway down.
        let compile = |on: bool, pattern: &str| on.then(|| Regex::new(pattern).ok()).flatten();
        TextMasks {
            // `%40` too: an address inside a URL is usually percent-encoded.
            email: compile(
                emails,
                r"(?i)[a-z0-9._%+\-]+(?:@|%40)[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,}",
            ),
            // 13–19 digits, single spaces or dashes between them; whole words only.
            card: compile(cards, r"\b\d(?:[ \-]?\d){12,18}\b"),
            // At least 8 token characters, so prose ("the bearer of news") is left alone.
            bearer: compile(bearer, r"(?i)\bbearer(?:\s+|%20|\+)[a-z0-9\-._~+/%]{8,}=*"),
        }
    }

    pub fn masks_cards(&self) -> bool {
        self.card.is_some()
    }

    /// The text with every match masked; borrowed when nothing matched.
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        if let Some(re) = &self.bearer {
            if let Cow::Owned(s) = re.replace_all(&out, BEARER_MASK) {
                out = Cow::Owned(s);
            }
        }
        if let Some(re) = &self.email {
            if let Cow::Owned(s) = re.replace_all(&out, EMAIL_MASK) {
                out = Cow::Owned(s);
            }
        }
        if let Some(re) = &self.card {
            let replaced = re.replace_all(&out, |caps: &regex::Captures<'_>| {
                let digits = &caps[0];
                if luhn_valid(digits) {
                    CARD_MASK.to_string()
                } else {
                    digits.to_string()
                }
            });
            if replaced != out {
                out = Cow::Owned(replaced.into_owned());
            }
        }
        out
    }
}

/// The Luhn checksum of the digits in `text` (separators ignored), as card numbers carry it;
/// most order numbers and timestamps fail it.
pub fn luhn_valid(text: &str) -> bool {
    let digits: Vec<u32> = text.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                if d * 2 > 9 {
                    d * 2 - 9
                } else {
                    d * 2
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> TextMasks {
        TextMasks::new(true, true, true)
    }

    #[test]
    fn emails_are_masked_plain_and_percent_encoded() {
        let m = all();
        assert_eq!(
            m.mask("contact Jane.Doe+x@Example.co.uk now"),
            "contact [email] now"
        );
        assert_eq!(
            m.mask("/signup?next=a%40b.example.org&x=1"),
            "/signup?next=[email]&x=1"
        );
        assert_eq!(m.mask("no address @ here"), "no address @ here");
    }

    #[test]
    fn card_numbers_pass_luhn_and_order_numbers_do_not() {
        let m = all();
        assert_eq!(m.mask("card 4111 1111 1111 1111 ok"), "card [card] ok");
        assert_eq!(m.mask("card 4111-1111-1111-1111"), "card [card]");
        assert_eq!(m.mask("amex 378282246310005"), "amex [card]");
        // Luhn negatives: same length, wrong checksum.
        assert_eq!(m.mask("order 4111111111111112"), "order 4111111111111112");
        assert_eq!(m.mask("order 1234567890123"), "order 1234567890123");
        // Too short, and a millisecond timestamp that happens to be 13 digits but fails Luhn.
        assert_eq!(m.mask("id 411111111111"), "id 411111111111");
        assert_eq!(m.mask("t=1732460000500"), "t=1732460000500");
        assert!(!luhn_valid("4111111111111112"));
        assert!(luhn_valid("4111111111111111"));
        assert!(!luhn_valid("4111111111")); // passes the sum, too short
    }

    #[test]
    fn bearer_tokens_are_masked() {
        let m = all();
        assert_eq!(
            m.mask("Authorization: Bearer eyJhbGciOi.J9.x-y_z=="),
            "Authorization: Bearer [redacted]"
        );
        assert_eq!(
            m.mask("sent bearer abc123def to"),
            "sent Bearer [redacted] to"
        );
        assert_eq!(m.mask("the bearer of news"), "the bearer of news");
    }

    #[test]
    fn all_patterns_compile() {
        let m = all();
        assert!(m.email.is_some() && m.card.is_some() && m.bearer.is_some());
    }

    #[test]
    fn rules_switch_off_one_by_one() {
        let none = TextMasks::new(false, false, false);
        let text = "a@b.com 4111111111111111 Bearer x";
        assert!(matches!(none.mask(text), Cow::Borrowed(_)));
        assert_eq!(
            TextMasks::new(false, true, false).mask(text),
            "a@b.com [card] Bearer x"
        );
    }
}
