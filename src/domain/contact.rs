//! Account contacts: the topics the vendor writes about, the consent flags, the review cycle that
//! keeps the contacts current, and the vendor's notices.

use chrono::{DateTime, Months, Utc};
use sea_orm::entity::prelude::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};

/// What the vendor contacts an account about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum Topic {
    #[sea_orm(string_value = "PRODUCT_UPDATES")]
    ProductUpdates,
    #[sea_orm(string_value = "SECURITY_LEGAL")]
    SecurityLegal,
    #[sea_orm(string_value = "FINANCE")]
    Finance,
    #[sea_orm(string_value = "INTEGRATIONS_APIS")]
    IntegrationsApis,
}

impl Topic {
    pub const ALL: [Topic; 4] = [
        Topic::ProductUpdates,
        Topic::SecurityLegal,
        Topic::Finance,
        Topic::IntegrationsApis,
    ];

    /// Every topic but INTEGRATIONS_APIS needs at least one contact.
    pub fn required(self) -> bool {
        self != Topic::IntegrationsApis
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Topic::ProductUpdates => "PRODUCT_UPDATES",
            Topic::SecurityLegal => "SECURITY_LEGAL",
            Topic::Finance => "FINANCE",
            Topic::IntegrationsApis => "INTEGRATIONS_APIS",
        }
    }

    /// Whether the topic's notices respect the product-updates consent flag (only
    /// PRODUCT_UPDATES does; the others are contractual or technical).
    pub fn needs_product_update_consent(self) -> bool {
        self == Topic::ProductUpdates
    }
}

/// A consent flag on a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum ConsentFlag {
    /// May be invited to product-usage interviews.
    #[sea_orm(string_value = "INTERVIEWS")]
    Interviews,
    /// May be told about product updates.
    #[sea_orm(string_value = "PRODUCT_UPDATES")]
    ProductUpdates,
}

/// What a notice is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum NoticeKind {
    #[sea_orm(string_value = "ACTION_REQUIRED")]
    ActionRequired,
    #[sea_orm(string_value = "SUNSET")]
    Sunset,
    #[sea_orm(string_value = "MIGRATION")]
    Migration,
    #[sea_orm(string_value = "INFORMATION")]
    Information,
}

/// Who a notice, or an audience preview, reaches.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Audience {
    /// The contacts of one integration in every account.
    IntegrationContacts(String),
    /// The contacts of one topic in every account (PRODUCT_UPDATES: those who consented).
    TopicContacts(Topic),
    /// People who consented to product-usage interviews (marketing-eligible people only).
    InterviewCandidates,
    /// Marketing-eligible people who consented to product updates.
    Marketing,
}

/// How often the contacts must be reviewed.
pub const REVIEW_PERIOD: Months = Months::new(3);

/// An account's contact-review cycle: periods of three months counted from the last confirmation
/// (or from the account's creation, before the first one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReviewCycle {
    pub last_reviewed_at: Option<DateTime<Utc>>,
    pub review_due_at: DateTime<Utc>,
    /// The start of the period `now` falls in.
    pub period_start: DateTime<Utc>,
}

impl ReviewCycle {
    pub fn at(
        created_at: DateTime<Utc>,
        last_reviewed_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Self {
        let anchor = last_reviewed_at.unwrap_or(created_at);
        let next = |at: DateTime<Utc>| at.checked_add_months(REVIEW_PERIOD).unwrap_or(at);
        let review_due_at = next(anchor);
        let mut period_start = anchor;
        // A handful of steps even for a decade-old review; bounded anyway.
        for _ in 0..1000 {
            let following = next(period_start);
            if following > now || following == period_start {
                break;
            }
            period_start = following;
        }
        Self {
            last_reviewed_at,
            review_due_at,
            period_start,
        }
    }

    /// Whether the app should show its reminder: a required topic is empty, or the review is due.
    pub fn reminder_due(&self, complete: bool, now: DateTime<Utc>) -> bool {
        !complete || now >= self.review_due_at
    }

    /// Whether the admins should be emailed now, given the period a reminder was last sent for:
    /// once per period, never more.
    pub fn should_email(
        &self,
        complete: bool,
        now: DateTime<Utc>,
        last_reminded_period: Option<DateTime<Utc>>,
    ) -> bool {
        self.reminder_due(complete, now)
            && last_reminded_period.is_none_or(|sent| sent < self.period_start)
    }
}

/// The text of a notice for a recipient: their language's translation, else their base language's,
/// else the default text. Returns the language used (`None`: the default text).
pub fn pick_translation<'a, T>(
    translations: &'a [(String, T)],
    wanted: Option<&str>,
) -> Option<&'a (String, T)> {
    let wanted = wanted?;
    let base = wanted.split('-').next().unwrap_or(wanted);
    [wanted, base].into_iter().find_map(|candidate| {
        translations
            .iter()
            .find(|(language, _)| language.eq_ignore_ascii_case(candidate))
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn day(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
    }

    #[test]
    fn a_review_falls_due_three_months_after_the_last_one() {
        let cycle = ReviewCycle::at(day(2026, 1, 1), Some(day(2026, 2, 10)), day(2026, 3, 1));
        assert_eq!(cycle.review_due_at, day(2026, 5, 10));
        assert!(!cycle.reminder_due(true, day(2026, 5, 9)));
        assert!(cycle.reminder_due(true, day(2026, 5, 10)));
        assert!(cycle.reminder_due(false, day(2026, 3, 1)));
    }

    #[test]
    fn reminders_go_out_once_per_period() {
        let created = day(2026, 1, 31);
        let now = day(2026, 5, 2);
        let cycle = ReviewCycle::at(created, None, now);
        // Jan 31 + 3 months is Apr 30 (clamped to the month's end).
        assert_eq!(cycle.period_start, day(2026, 4, 30));
        assert!(cycle.should_email(true, now, None));
        assert!(cycle.should_email(true, now, Some(created)));
        assert!(!cycle.should_email(true, now, Some(day(2026, 4, 30))));
        let later = ReviewCycle::at(created, None, day(2026, 8, 1));
        assert!(later.should_email(true, day(2026, 8, 1), Some(day(2026, 4, 30))));
    }

    #[test]
    fn an_incomplete_setup_is_reminded_in_the_first_period_too() {
        let created = day(2026, 1, 1);
        let cycle = ReviewCycle::at(created, None, day(2026, 1, 2));
        assert_eq!(cycle.period_start, created);
        assert!(cycle.should_email(false, day(2026, 1, 2), None));
        assert!(!cycle.should_email(false, day(2026, 1, 3), Some(created)));
        assert!(!cycle.should_email(true, day(2026, 1, 3), None));
    }

    #[test]
    fn translations_fall_back_to_the_base_language_then_the_default() {
        let translations = vec![("de".to_owned(), 1), ("fr-CA".to_owned(), 2)];
        assert_eq!(
            pick_translation(&translations, Some("de-CH")).map(|t| t.1),
            Some(1)
        );
        assert_eq!(
            pick_translation(&translations, Some("FR-ca")).map(|t| t.1),
            Some(2)
        );
        assert_eq!(pick_translation(&translations, Some("fr")), None);
        assert_eq!(pick_translation(&translations, None), None);
    }
}
