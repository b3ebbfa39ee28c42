//! Validated values. Each is built only through `parse`, so holding one proves it is valid;
//! parse failures are typed and name what was wrong.

use std::fmt;

use thiserror::Error;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum ValueError {
    #[error("`{0}` is not a valid email address")]
    InvalidEmail(String),
    #[error("`{0}` is not a valid BCP 47 language tag (for example `en`, `de-CH`)")]
    InvalidLanguage(String),
    #[error("a username has 1 to 100 characters: letters, digits, and `.`, `_`, `-`, `@`, `+`")]
    InvalidUsername,
    #[error("`{0}` is not a phone number in E.164 form (for example `+41445551234`)")]
    InvalidPhone(String),
    #[error("a {0} cannot be empty and has at most {1} characters")]
    InvalidName(&'static str, usize),
    #[error("a slug has 3 to 40 characters: lowercase letters, digits and hyphens")]
    InvalidSlug,
    #[error("an agent ID is a whole number from 1 to 999999999999")]
    InvalidAgentId,
    #[error("`{0}` is not an ISO 3166-1 alpha-2 country code (for example `CH`)")]
    InvalidCountry(String),
}

impl ValueError {
    /// The machine-readable code clients see in `userErrors`.
    pub fn code(&self) -> &'static str {
        match self {
            ValueError::InvalidEmail(_) => "INVALID_EMAIL",
            ValueError::InvalidLanguage(_) => "INVALID_LANGUAGE",
            ValueError::InvalidUsername => "INVALID_USERNAME",
            ValueError::InvalidPhone(_) => "INVALID_PHONE",
            ValueError::InvalidName(..) => "INVALID_NAME",
            ValueError::InvalidSlug => "INVALID_SLUG",
            ValueError::InvalidAgentId => "INVALID_AGENT_ID",
            ValueError::InvalidCountry(_) => "INVALID_COUNTRY",
        }
    }
}

macro_rules! string_value {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// An email address as entered (trimmed); `key()` is the case-folded form used for look-ups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);
string_value!(Email);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let trimmed = raw.trim();
        let valid = trimmed.len() <= 254
            && email_address::EmailAddress::parse_with_options(
                trimmed,
                email_address::Options::default().without_display_text(),
            )
            .is_ok()
            && trimmed
                .rsplit_once('@')
                .is_some_and(|(_, domain)| domain.contains('.'));
        if valid {
            Ok(Self(trimmed.to_owned()))
        } else {
            Err(ValueError::InvalidEmail(raw.to_owned()))
        }
    }

    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A well-formed BCP 47 language tag, kept in its canonical letter case (`de-CH`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LanguageTag(String);
string_value!(LanguageTag);

impl LanguageTag {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let invalid = || ValueError::InvalidLanguage(raw.to_owned());
        let tag = language_tags::LanguageTag::parse(raw.trim()).map_err(|_| invalid())?;
        tag.validate().map_err(|_| invalid())?;
        if tag.primary_language().len() > 3 {
            return Err(invalid());
        }
        Ok(Self(canonical_case(tag.as_str())))
    }
}

/// BCP 47 case conventions: language lower, script title, region upper.
fn canonical_case(tag: &str) -> String {
    tag.split('-')
        .enumerate()
        .map(|(position, part)| match (position, part.len()) {
            (0, _) => part.to_ascii_lowercase(),
            (_, 2) => part.to_ascii_uppercase(),
            (_, 4) if part.chars().all(|c| c.is_ascii_alphabetic()) => {
                let lower = part.to_ascii_lowercase();
                let mut chars = lower.chars();
                chars
                    .next()
                    .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            }
            _ => part.to_ascii_lowercase(),
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// A username as entered; unique per account in any letter case (`key()`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);
string_value!(Username);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let trimmed = raw.trim();
        let valid = !trimmed.is_empty()
            && trimmed.chars().count() <= 100
            && trimmed
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+'));
        if valid {
            Ok(Self(trimmed.to_owned()))
        } else {
            Err(ValueError::InvalidUsername)
        }
    }

    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A phone number in E.164 form: `+`, then 2 to 15 digits, the first not zero.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phone(String);
string_value!(Phone);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let compact: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
            .collect();
        let digits = compact.strip_prefix('+').unwrap_or("");
        let valid = (2..=15).contains(&digits.len())
            && digits.chars().all(|c| c.is_ascii_digit())
            && !digits.starts_with('0');
        if valid {
            Ok(Self(compact))
        } else {
            Err(ValueError::InvalidPhone(raw.to_owned()))
        }
    }
}

/// A human-readable name (a person's, a role's, an account's): trimmed, not empty, bounded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name(String);
string_value!(Name);

impl Name {
    pub fn parse(raw: &str, what: &'static str, max: usize) -> Result<Self, ValueError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.chars().count() > max {
            return Err(ValueError::InvalidName(what, max));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// An account's URL name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slug(String);
string_value!(Slug);

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let valid = (3..=40).contains(&raw.len())
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValueError::InvalidSlug)
        }
    }
}

/// A numeric agent ID, unique per account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct AgentId(i64);

impl AgentId {
    pub const MAX: i64 = 999_999_999_999;

    pub fn parse(raw: i64) -> Result<Self, ValueError> {
        if (1..=Self::MAX).contains(&raw) {
            Ok(Self(raw))
        } else {
            Err(ValueError::InvalidAgentId)
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CountryCode(String);
string_value!(CountryCode);

impl CountryCode {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let upper = raw.trim().to_ascii_uppercase();
        if upper.len() == 2 && upper.chars().all(|c| c.is_ascii_uppercase()) {
            Ok(Self(upper))
        } else {
            Err(ValueError::InvalidCountry(raw.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_keyed_in_lower_case() {
        assert_eq!(
            Email::parse(" Ann@Example.COM ").unwrap().key(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@localhost",
            "a b@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn language_tags_are_canonicalised() {
        assert_eq!(LanguageTag::parse("de-ch").unwrap().as_str(), "de-CH");
        assert_eq!(
            LanguageTag::parse("zh-hant-tw").unwrap().as_str(),
            "zh-Hant-TW"
        );
        for bad in ["", "english", "en_US", "12", "en--GB"] {
            assert!(LanguageTag::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn phones_are_e164() {
        assert_eq!(
            Phone::parse("+41 44 555 12 34").unwrap().as_str(),
            "+41445551234"
        );
        for bad in ["0445551234", "+0123", "+1", "+12345678901234567", "phone"] {
            assert!(Phone::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn usernames_and_slugs() {
        assert_eq!(Username::parse("Ann.Lee").unwrap().key(), "ann.lee");
        assert!(Username::parse("ann lee").is_err());
        assert!(Slug::parse("acme-2").is_ok());
        assert!(Slug::parse("Acme").is_err());
        assert!(Slug::parse("ab").is_err());
    }
}
