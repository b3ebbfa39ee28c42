//! Bulk source rows as CSV: reading an uploaded file (the API and the CLI read the same way) and
//! writing a job's results. A header row names the columns in any letter case, with or without
//! spaces, dashes or underscores (`First name`, `first_name`, `firstName`); empty cells are
//! absent values.

use std::io::Read;

use thiserror::Error;

use super::bulk::{MAX_ROWS, RowError, RowStatus, SourceRow};

/// The columns, as the results file and the documentation name them.
pub const COLUMNS: [&str; 9] = [
    "username",
    "firstName",
    "lastName",
    "displayName",
    "email",
    "phone",
    "agentId",
    "externalSource",
    "externalId",
];

/// The two columns only callers who may read personal data see in a results file.
pub const PII_COLUMNS: [&str; 2] = ["email", "phone"];

/// Why a file cannot be read; nothing of it is used then.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CsvError {
    #[error("the file is empty: the first line names the columns")]
    Empty,
    #[error("unknown column `{0}`; the columns are {list}", list = COLUMNS.join(", "))]
    UnknownColumn(String),
    #[error("the column `{0}` appears twice")]
    DuplicateColumn(String),
    #[error("the header names no `username` column")]
    NoUsername,
    #[error("line {line}: {message}")]
    Line { line: u64, message: String },
    #[error("the file has more than {MAX_ROWS} rows")]
    TooManyRows,
    #[error("the file has a header but no rows")]
    NoRows,
}

/// Folds a header cell: `First name` → `firstname`.
fn fold(header: &str) -> String {
    header
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Reads every row of a CSV file with a header row, or says why the file cannot be used.
pub fn read_rows(input: impl Read) -> Result<Vec<SourceRow>, CsvError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers = reader.headers().map_err(line_error)?.clone();
    if headers.iter().all(|h| fold(h).is_empty()) {
        return Err(CsvError::Empty);
    }
    let mut columns = Vec::with_capacity(headers.len());
    for header in &headers {
        let folded = fold(header);
        let index = COLUMNS
            .iter()
            .position(|c| c.to_lowercase() == folded)
            .ok_or_else(|| CsvError::UnknownColumn(header.to_owned()))?;
        if columns.contains(&index) {
            return Err(CsvError::DuplicateColumn(COLUMNS[index].to_owned()));
        }
        columns.push(index);
    }
    if !columns.contains(&0) {
        return Err(CsvError::NoUsername);
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(line_error)?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(CsvError::TooManyRows);
        }
        let line = record.position().map_or(0, csv::Position::line);
        let mut row = SourceRow::default();
        for (cell, column) in record.iter().zip(&columns) {
            if cell.is_empty() {
                continue;
            }
            let value = Some(cell.to_owned());
            match column {
                0 => row.username = value,
                1 => row.first_name = value,
                2 => row.last_name = value,
                3 => row.display_name = value,
                4 => row.email = value,
                5 => row.phone = value,
                6 => {
                    row.agent_id = Some(cell.parse().map_err(|_| CsvError::Line {
                        line,
                        message: format!("agentId `{cell}` is not a whole number"),
                    })?);
                }
                7 => row.external_source = value,
                _ => row.external_id = value,
            }
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(CsvError::NoRows);
    }
    Ok(rows)
}

fn line_error(error: csv::Error) -> CsvError {
    let line = error.position().map_or(0, csv::Position::line);
    let message = match error.kind() {
        csv::ErrorKind::Utf8 { .. } => "the text is not UTF-8".to_owned(),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} cells where the header has {expected_len}"),
        _ => "the line is not valid CSV".to_owned(),
    };
    CsvError::Line { line, message }
}

/// One result row of a job, as the results file shows it.
pub struct ResultLine<'a> {
    pub position: i32,
    pub source: &'a SourceRow,
    pub status: RowStatus,
    /// The user's global id.
    pub user: Option<String>,
    pub agent_id: Option<i64>,
    pub errors: &'a [RowError],
}

/// Writes a results file: the source columns (emails and phones only `with_pii`), then the
/// outcome. Cells that a spreadsheet would run as a formula are prefixed with `'`.
pub struct ResultsWriter {
    writer: csv::Writer<Vec<u8>>,
    with_pii: bool,
}

impl ResultsWriter {
    pub fn new(with_pii: bool) -> Self {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let header: Vec<&str> = std::iter::once("position")
            .chain(
                COLUMNS
                    .iter()
                    .copied()
                    .filter(|c| with_pii || !PII_COLUMNS.contains(c)),
            )
            .chain(["status", "userId", "resultAgentId", "errors"])
            .collect();
        // Writing to memory cannot fail.
        let _ = writer.write_record(&header);
        Self { writer, with_pii }
    }

    pub fn push(&mut self, line: &ResultLine<'_>) {
        let source = line.source;
        let text = |value: &Option<String>| value.as_deref().map(spreadsheet_safe);
        let mut cells = vec![Some(line.position.to_string()), text(&source.username)];
        cells.extend([
            text(&source.first_name),
            text(&source.last_name),
            text(&source.display_name),
        ]);
        if self.with_pii {
            cells.extend([text(&source.email), text(&source.phone)]);
        }
        cells.extend([
            source.agent_id.map(|a| a.to_string()),
            text(&source.external_source),
            text(&source.external_id),
            Some(status_name(line.status).to_owned()),
            line.user.clone(),
            line.agent_id.map(|a| a.to_string()),
            Some(
                line.errors
                    .iter()
                    .map(|e| format!("{}: {}", e.code, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ]);
        let _ = self
            .writer
            .write_record(cells.iter().map(|c| c.as_deref().unwrap_or_default()));
    }

    /// The bytes written since the last call, so a long file can be sent a piece at a time.
    pub fn take(&mut self) -> Vec<u8> {
        let written = std::mem::replace(&mut self.writer, csv::Writer::from_writer(Vec::new()));
        // Flushing to memory cannot fail.
        written.into_inner().unwrap_or_default()
    }
}

pub fn status_name(status: RowStatus) -> &'static str {
    match status {
        RowStatus::Queued => "QUEUED",
        RowStatus::Created => "CREATED",
        RowStatus::Skipped => "SKIPPED",
        RowStatus::Failed => "FAILED",
        RowStatus::Cancelled => "CANCELLED",
    }
}

/// A cell a spreadsheet would evaluate (`=`, `+`, `-`, `@`, tab, carriage return first) is
/// prefixed with `'` (a phone number like `+4420…` is left alone), so a downloaded file cannot run a formula someone typed into a source row.
fn spreadsheet_safe(cell: &str) -> String {
    let phone_number = cell.len() > 1 && cell[1..].bytes().all(|b| b.is_ascii_digit());
    match cell.chars().next() {
        Some('+') if phone_number => cell.to_owned(),
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_fold_and_cells_become_fields() {
        let file = "\u{feff}User name,First Name,last_name,E-mail,Agent ID,externalSource,externalId\n\
                    ada, Ada ,Lovelace,ada@example.com,12,crm,001\n\
                    \n\
                    bob,,,,,,\n";
        let rows = read_rows(file.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].username.as_deref(), Some("ada"));
        assert_eq!(rows[0].first_name.as_deref(), Some("Ada"));
        assert_eq!(rows[0].email.as_deref(), Some("ada@example.com"));
        assert_eq!(rows[0].agent_id, Some(12));
        assert_eq!(rows[0].external(), Some(("crm", "001")));
        assert_eq!(
            rows[1],
            SourceRow {
                username: Some("bob".into()),
                ..SourceRow::default()
            }
        );
    }

    #[test]
    fn bad_files_say_why() {
        assert_eq!(
            read_rows("username,shoe size\nada,9\n".as_bytes()),
            Err(CsvError::UnknownColumn("shoe size".into()))
        );
        assert_eq!(
            read_rows("firstName\nAda\n".as_bytes()),
            Err(CsvError::NoUsername)
        );
        assert_eq!(
            read_rows("username,Username\na,b\n".as_bytes()),
            Err(CsvError::DuplicateColumn("username".into()))
        );
        assert_eq!(read_rows("username\n".as_bytes()), Err(CsvError::NoRows));
        assert_eq!(read_rows("".as_bytes()), Err(CsvError::Empty));
        assert_eq!(
            read_rows("username,agentId\nada,12\nbob,twelve\n".as_bytes()),
            Err(CsvError::Line {
                line: 3,
                message: "agentId `twelve` is not a whole number".into()
            })
        );
        assert!(matches!(
            read_rows("username,phone\nada\n".as_bytes()),
            Err(CsvError::Line { line: 2, .. })
        ));
        let too_many = format!("username\n{}", "x\n".repeat(MAX_ROWS + 1));
        assert_eq!(read_rows(too_many.as_bytes()), Err(CsvError::TooManyRows));
    }

    #[test]
    fn results_hide_personal_data_without_pii_and_defuse_formulas() {
        let source = SourceRow {
            username: Some("=cmd".into()),
            email: Some("ada@example.com".into()),
            ..SourceRow::default()
        };
        let line = ResultLine {
            position: 1,
            source: &source,
            status: RowStatus::Failed,
            user: None,
            agent_id: None,
            errors: &[RowError::username_exists()],
        };
        let mut without = ResultsWriter::new(false);
        without.push(&line);
        let text = String::from_utf8(without.take()).unwrap();
        without.push(&line);
        let next = String::from_utf8(without.take()).unwrap();
        assert_eq!(text.lines().count(), 2, "the header, then the row");
        assert_eq!(
            next.lines().count(),
            1,
            "only what was pushed since the last piece"
        );
        assert!(!text.contains("email"));
        assert!(!text.contains("ada@example.com"));
        assert!(text.contains("'=cmd"));
        assert!(text.contains("FAILED"));
        assert!(text.contains("USERNAME_EXISTS"));
        let mut with = ResultsWriter::new(true);
        with.push(&line);
        assert!(
            String::from_utf8(with.take())
                .unwrap()
                .contains("ada@example.com")
        );
    }
}
