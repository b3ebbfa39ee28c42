//! When schedules fire next. FIXED schedules keep their cadence (missed ticks are skipped, not
//! replayed); AFTER_COMPLETION schedules count from the end of the previous run. Jitter spreads
//! runs so that many accounts' schedules do not fire in the same second.

use chrono::{DateTime, Duration, Months, Utc};
use rand::Rng;

use crate::store::entities::schedule;

fn add_interval(schedule: &schedule::Model, from: DateTime<Utc>) -> DateTime<Utc> {
    match (schedule.every_seconds, schedule.every_months) {
        (Some(seconds), _) => from + Duration::seconds(seconds.max(1)),
        (None, Some(months)) => from
            .checked_add_months(Months::new(u32::try_from(months.max(1)).unwrap_or(1)))
            .unwrap_or(from + Duration::days(30)),
        (None, None) => from + Duration::days(1),
    }
}

fn jitter(schedule: &schedule::Model) -> Duration {
    if schedule.jitter_seconds <= 0 {
        return Duration::zero();
    }
    Duration::seconds(rand::rng().random_range(0..=i64::from(schedule.jitter_seconds)))
}

/// The next planned time of a FIXED schedule after the tick planned for `planned`.
pub fn next_fixed(
    schedule: &schedule::Model,
    planned: DateTime<Utc>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let mut next = add_interval(schedule, planned);
    while next <= now {
        next = add_interval(schedule, next);
    }
    next + jitter(schedule)
}

/// The next planned time of an AFTER_COMPLETION schedule whose run ended at `ended`.
pub fn next_after_completion(schedule: &schedule::Model, ended: DateTime<Utc>) -> DateTime<Utc> {
    add_interval(schedule, ended) + jitter(schedule)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::entities::schedule::ScheduleAnchor;

    fn schedule(every_seconds: Option<i64>, every_months: Option<i32>) -> schedule::Model {
        let now = Utc::now();
        schedule::Model {
            name: "s".into(),
            account_id: None,
            job_kind: "k".into(),
            payload: serde_json::json!({}),
            every_seconds,
            every_months,
            anchor: ScheduleAnchor::Fixed,
            jitter_seconds: 0,
            next_run_at: None,
            last_fired_at: None,
            last_completed_at: None,
            enabled: true,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn fixed_schedules_keep_cadence_and_skip_missed_ticks() {
        let every_hour = schedule(Some(3600), None);
        let planned = Utc::now();
        assert_eq!(
            next_fixed(&every_hour, planned, planned),
            planned + Duration::hours(1)
        );
        let much_later = planned + Duration::minutes(150);
        assert_eq!(
            next_fixed(&every_hour, planned, much_later),
            planned + Duration::hours(3)
        );
    }

    #[test]
    fn monthly_schedules_add_calendar_months() {
        let quarterly = schedule(None, Some(3));
        let start: DateTime<Utc> = "2026-01-31T10:00:00Z".parse().unwrap();
        let next = next_after_completion(&quarterly, start);
        assert_eq!(
            next,
            "2026-04-30T10:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }
}
