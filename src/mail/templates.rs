//! Email templates: a subject, a text part and an optional HTML part per language, in
//! `templates/mail/<template>/<language>.toml` (one file per translation, so a translator edits
//! one self-contained file), embedded in the binary by the table below and checked when the
//! server starts: every file parses, every template exists in the default language, and a
//! translation has the default's parts and uses no variable the default does not.
//!
//! Rendering picks the recipient's language, else its base language (`de-CH` → `de`), else the
//! default language, and reports the one it used. The HTML part is HTML-escaped, the text and the
//! subject are not (a subject is also kept on one line). An undefined variable is an error
//! (minijinja's strict mode), never an empty hole in a customer's email: the caller renders
//! inside the transaction of the change, so a missing variable fails that change visibly instead
//! of sending "Dear ,". An optional variable is written `{% if name is defined %}`.

use std::collections::{BTreeMap, BTreeSet};

use minijinja::{Environment, UndefinedBehavior};
use serde::Deserialize;
use thiserror::Error;

/// Every template file: (template, language, TOML source). A test checks that every file under
/// `templates/mail/` is listed.
const FILES: &[(&str, &str, &str)] = &[
    (
        "test-email",
        "en",
        include_str!("../../templates/mail/test-email/en.toml"),
    ),
    (
        "test-email",
        "de",
        include_str!("../../templates/mail/test-email/de.toml"),
    ),
    (
        "notice",
        "en",
        include_str!("../../templates/mail/notice/en.toml"),
    ),
    (
        "notice",
        "de",
        include_str!("../../templates/mail/notice/de.toml"),
    ),
    (
        "contact-review-reminder",
        "en",
        include_str!("../../templates/mail/contact-review-reminder/en.toml"),
    ),
    (
        "contact-review-reminder",
        "de",
        include_str!("../../templates/mail/contact-review-reminder/de.toml"),
    ),
    (
        "user-sync-auth-failed",
        "en",
        include_str!("../../templates/mail/user-sync-auth-failed/en.toml"),
    ),
    (
        "user-sync-auth-failed",
        "de",
        include_str!("../../templates/mail/user-sync-auth-failed/de.toml"),
    ),
    (
        "address-bounced",
        "en",
        include_str!("../../templates/mail/address-bounced/en.toml"),
    ),
    (
        "address-bounced",
        "de",
        include_str!("../../templates/mail/address-bounced/de.toml"),
    ),
    (
        "connection-request-invitation",
        "en",
        include_str!("../../templates/mail/connection-request-invitation/en.toml"),
    ),
    (
        "connection-request-invitation",
        "de",
        include_str!("../../templates/mail/connection-request-invitation/de.toml"),
    ),
    (
        "connection-request-completed",
        "en",
        include_str!("../../templates/mail/connection-request-completed/en.toml"),
    ),
    (
        "connection-request-completed",
        "de",
        include_str!("../../templates/mail/connection-request-completed/de.toml"),
    ),
    (
        "connection-request-expired",
        "en",
        include_str!("../../templates/mail/connection-request-expired/en.toml"),
    ),
    (
        "connection-request-expired",
        "de",
        include_str!("../../templates/mail/connection-request-expired/de.toml"),
    ),
    (
        "connection-request-new-link",
        "en",
        include_str!("../../templates/mail/connection-request-new-link/en.toml"),
    ),
    (
        "connection-request-new-link",
        "de",
        include_str!("../../templates/mail/connection-request-new-link/de.toml"),
    ),
];

/// Why templates could not be loaded or rendered.
#[derive(Debug, Error)]
pub enum TemplateError {
    /// No template of that name.
    #[error("no email template `{0}`")]
    Unknown(String),
    /// A template file does not parse, or does not match its default-language version.
    #[error("email template {template}/{language} is invalid: {reason}")]
    Invalid {
        template: String,
        language: String,
        reason: String,
    },
    /// A template without a version in the default language (template, default language).
    #[error("email template `{0}` has no version in the default language `{1}`")]
    NoDefault(String, String),
    /// Rendering failed, e.g. a variable the template uses was not given.
    #[error("rendering email template {template}/{language}: {reason}")]
    Render {
        template: String,
        language: String,
        reason: String,
    },
}

/// One template file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Parts {
    subject: String,
    text: String,
    html: Option<String>,
}

/// A rendered email, in the language actually used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedEmail {
    /// One line, not escaped.
    pub subject: String,
    /// The plain-text part, not escaped.
    pub text: String,
    /// The HTML part, with every variable HTML-escaped; `None` for a text-only template.
    pub html: Option<String>,
    /// The language of the version used (`de` for a `de-CH` recipient), for `Content-Language`.
    pub language: String,
}

/// The compiled templates, ready to render.
pub struct Templates {
    env: Environment<'static>,
    /// Languages available per template.
    languages: BTreeMap<String, Vec<String>>,
    default_language: String,
}

const SUBJECT: &str = "subject.txt";
const TEXT: &str = "text.txt";
const HTML: &str = "body.html";

fn name(template: &str, language: &str, part: &str) -> String {
    format!("{template}/{language}/{part}")
}

impl Templates {
    /// The built-in templates; every one must parse and exist in `default_language`.
    pub fn built_in(default_language: &str) -> Result<Self, TemplateError> {
        Self::from_files(default_language, FILES)
    }

    fn from_files(
        default_language: &str,
        files: &[(&str, &str, &str)],
    ) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Escaping follows the part's name: the HTML part is escaped, text parts are not.
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                minijinja::AutoEscape::Html
            } else {
                minijinja::AutoEscape::None
            }
        });
        let mut languages: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (template, language, source) in files {
            let invalid = |reason: String| TemplateError::Invalid {
                template: (*template).into(),
                language: (*language).into(),
                reason,
            };
            let parts: Parts = toml::from_str(source).map_err(|e| invalid(e.to_string()))?;
            let mut add = |part: &str, body: String| {
                env.add_template_owned(name(template, language, part), body)
                    .map_err(|e| invalid(e.to_string()))
            };
            add(SUBJECT, parts.subject.trim().to_owned())?;
            add(TEXT, parts.text.trim_start().to_owned())?;
            if let Some(html) = parts.html {
                add(HTML, html.trim_start().to_owned())?;
            }
            languages
                .entry((*template).into())
                .or_default()
                .push((*language).into());
        }
        let templates = Self {
            env,
            languages,
            default_language: default_language.into(),
        };
        templates.check_translations()?;
        Ok(templates)
    }

    /// Every template exists in the default language, and each translation has the same parts
    /// and needs no variable the default does not (callers pass what the default needs).
    fn check_translations(&self) -> Result<(), TemplateError> {
        for (template, available) in &self.languages {
            if !available.contains(&self.default_language) {
                return Err(TemplateError::NoDefault(
                    template.clone(),
                    self.default_language.clone(),
                ));
            }
            let (default_html, default_variables) = self.shape(template, &self.default_language);
            for language in available {
                let invalid = |reason: String| TemplateError::Invalid {
                    template: template.clone(),
                    language: language.clone(),
                    reason,
                };
                let (html, variables) = self.shape(template, language);
                if html != default_html {
                    return Err(invalid(format!(
                        "it {} an HTML part and the `{}` version {}",
                        if html { "has" } else { "lacks" },
                        self.default_language,
                        if default_html { "has" } else { "does not" },
                    )));
                }
                let extra: Vec<&str> = variables
                    .difference(&default_variables)
                    .map(String::as_str)
                    .collect();
                if !extra.is_empty() {
                    return Err(invalid(format!(
                        "it uses variables the `{}` version does not: {}",
                        self.default_language,
                        extra.join(", ")
                    )));
                }
            }
        }
        Ok(())
    }

    /// Whether a version has an HTML part, and the variables it uses.
    fn shape(&self, template: &str, language: &str) -> (bool, BTreeSet<String>) {
        let mut html = false;
        let mut variables = BTreeSet::new();
        for part in [SUBJECT, TEXT, HTML] {
            if let Ok(compiled) = self.env.get_template(&name(template, language, part)) {
                html |= part == HTML;
                variables.extend(compiled.undeclared_variables(false));
            }
        }
        (html, variables)
    }

    /// The language a recipient gets: theirs, their base language, or the default
    /// (case-insensitive; the result is spelled as the template file is).
    pub fn language_for(&self, template: &str, wanted: &str) -> Result<String, TemplateError> {
        let available = self
            .languages
            .get(template)
            .ok_or_else(|| TemplateError::Unknown(template.into()))?;
        let base = wanted.split('-').next().unwrap_or(wanted);
        [wanted, base, self.default_language.as_str()]
            .into_iter()
            .find_map(|candidate| {
                available
                    .iter()
                    .find(|l| l.eq_ignore_ascii_case(candidate))
                    .cloned()
            })
            .ok_or_else(|| TemplateError::Unknown(template.into()))
    }

    /// Renders `template` for a recipient who prefers `wanted_language` (BCP 47).
    pub fn render(
        &self,
        template: &str,
        wanted_language: &str,
        context: &serde_json::Value,
    ) -> Result<RenderedEmail, TemplateError> {
        let language = self.language_for(template, wanted_language)?;
        let render = |part: &str| -> Result<Option<String>, TemplateError> {
            let Ok(compiled) = self.env.get_template(&name(template, &language, part)) else {
                return Ok(None);
            };
            compiled
                .render(context)
                .map(Some)
                .map_err(|e| TemplateError::Render {
                    template: template.into(),
                    language: language.clone(),
                    reason: e.to_string(),
                })
        };
        Ok(RenderedEmail {
            subject: render(SUBJECT)?
                .unwrap_or_default()
                .replace(['\r', '\n'], " "),
            text: render(TEXT)?.unwrap_or_default(),
            html: render(HTML)?,
            language,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn templates() -> Templates {
        Templates::built_in("en").expect("built-in templates")
    }

    fn context() -> serde_json::Value {
        json!({ "operator": "ops-ann", "product": "Liaison" })
    }

    #[test]
    fn languages_fall_back_to_the_base_then_the_default() {
        let templates = templates();
        assert_eq!(templates.language_for("test-email", "de").unwrap(), "de");
        assert_eq!(templates.language_for("test-email", "de-CH").unwrap(), "de");
        assert_eq!(templates.language_for("test-email", "DE-ch").unwrap(), "de");
        assert_eq!(templates.language_for("test-email", "fr").unwrap(), "en");
        assert_eq!(templates.language_for("test-email", "fr-CA").unwrap(), "en");
        assert_eq!(templates.language_for("test-email", "").unwrap(), "en");
    }

    #[test]
    fn rendering_reports_the_language_used() {
        let templates = templates();
        let german = templates.render("test-email", "de-AT", &context()).unwrap();
        let english = templates.render("test-email", "pt", &context()).unwrap();
        assert_eq!(german.language, "de");
        assert_eq!(german.subject, "Test-E-Mail von Liaison");
        assert!(
            german.text.contains("gesendet von ops-ann"),
            "{}",
            german.text
        );
        assert_eq!(english.language, "en");
        assert_eq!(english.subject, "Test email from Liaison");
        assert!(english.html.unwrap().contains("<strong>ops-ann</strong>"));
    }

    #[test]
    fn an_unknown_template_is_an_error() {
        let error = templates().render("nope", "en", &context());
        assert!(
            matches!(&error, Err(TemplateError::Unknown(name)) if name == "nope"),
            "{error:?}"
        );
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let rendered = templates()
            .render(
                "test-email",
                "en",
                &json!({ "operator": "<b>Ann & Co</b>", "product": "Liaison" }),
            )
            .unwrap();
        assert!(rendered.text.contains("<b>Ann & Co</b>"));
        let html = rendered.html.unwrap();
        assert!(
            html.contains("&lt;b&gt;Ann &amp; Co&lt;&#x2f;b&gt;"),
            "{html}"
        );
        assert!(!html.contains("<b>"), "{html}");
    }

    #[test]
    fn a_subject_stays_on_one_line() {
        let rendered = templates()
            .render(
                "test-email",
                "en",
                &json!({ "operator": "ann", "product": "Lia\r\nBcc: eve" }),
            )
            .unwrap();
        assert_eq!(rendered.subject, "Test email from Lia  Bcc: eve");
    }

    #[test]
    fn a_missing_variable_is_an_error() {
        let error = templates().render("test-email", "de", &json!({ "product": "Liaison" }));
        assert!(
            matches!(&error, Err(TemplateError::Render { language, reason, .. })
                if language == "de" && reason.contains("undefined")),
            "{error:?}"
        );
    }

    #[test]
    fn every_template_needs_the_default_language() {
        assert!(matches!(
            Templates::built_in("fr"),
            Err(TemplateError::NoDefault(_, language)) if language == "fr"
        ));
    }

    const EN: &str =
        "subject = \"Hi {{ name }}\"\ntext = \"Hello {{ name }}\"\nhtml = \"<p>{{ name }}</p>\"";

    #[test]
    fn a_translation_needing_another_variable_is_refused() {
        let de = "subject = \"Hallo {{ name }}\"\ntext = \"Hallo {{ title }} {{ name }}\"\nhtml = \"<p>{{ name }}</p>\"";
        let error = Templates::from_files("en", &[("t", "en", EN), ("t", "de", de)]);
        assert!(
            matches!(&error, Err(TemplateError::Invalid { language, reason, .. })
                if language == "de" && reason.contains("title")),
            "{:?}",
            error.err()
        );
    }

    #[test]
    fn a_translation_without_the_html_part_is_refused() {
        let de = "subject = \"Hallo {{ name }}\"\ntext = \"Hallo {{ name }}\"";
        let error = Templates::from_files("en", &[("t", "en", EN), ("t", "de", de)]);
        assert!(
            matches!(&error, Err(TemplateError::Invalid { language, .. }) if language == "de"),
            "{:?}",
            error.err()
        );
    }

    #[test]
    fn a_template_that_does_not_parse_is_refused() {
        let broken = "subject = \"Hi {{ name \"\ntext = \"x\"";
        let unknown_part = "subject = \"Hi\"\ntext = \"x\"\nhtm = \"<p>\"";
        for source in [broken, unknown_part, "text = \"no subject\""] {
            assert!(
                matches!(
                    Templates::from_files("en", &[("t", "en", source)]),
                    Err(TemplateError::Invalid { .. })
                ),
                "{source}"
            );
        }
    }

    #[test]
    fn every_template_file_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/mail");
        let mut on_disk = Vec::new();
        for template in std::fs::read_dir(&root).expect("templates/mail") {
            let template = template.expect("entry").path();
            for file in std::fs::read_dir(&template).expect("template folder") {
                let file = file.expect("entry").path();
                let template_name = template.file_name().and_then(|n| n.to_str());
                let language = file.file_stem().and_then(|n| n.to_str());
                if let (Some(template_name), Some(language)) = (template_name, language) {
                    assert_eq!(
                        file.extension().and_then(|e| e.to_str()),
                        Some("toml"),
                        "{}",
                        file.display()
                    );
                    on_disk.push((template_name.to_owned(), language.to_owned()));
                }
            }
        }
        let mut embedded: Vec<(String, String)> = FILES
            .iter()
            .map(|(template, language, _)| ((*template).to_owned(), (*language).to_owned()))
            .collect();
        on_disk.sort();
        embedded.sort();
        assert_eq!(on_disk, embedded);
    }
}
