//! Email templates: a subject, a text part and an HTML part per language, in
//! `templates/mail/<template>/<language>.toml`, embedded in the binary. Rendering picks the
//! recipient's language, else its base language (`de-CH` → `de`), else the default language.
//! The HTML part is autoescaped; an undefined variable is an error, never an empty hole.

use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior};
use serde::Deserialize;
use thiserror::Error;

/// Every template file, by template and language.
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
];

#[derive(Debug, Error)]
pub enum TemplateError {
    #[error("no email template `{0}`")]
    Unknown(String),
    #[error("email template {template}/{language} is invalid: {reason}")]
    Invalid {
        template: String,
        language: String,
        reason: String,
    },
    #[error("email template `{0}` has no version in the default language `{1}`")]
    NoDefault(String, String),
    #[error("rendering email template {template}/{language}: {reason}")]
    Render {
        template: String,
        language: String,
        reason: String,
    },
}

#[derive(Deserialize)]
struct Parts {
    subject: String,
    text: String,
    html: Option<String>,
}

/// A rendered email, in the language actually used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedEmail {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub language: String,
}

pub struct Templates {
    env: Environment<'static>,
    /// Languages available per template.
    languages: BTreeMap<String, Vec<String>>,
    default_language: String,
}

fn name(template: &str, language: &str, part: &str) -> String {
    format!("{template}/{language}/{part}")
}

impl Templates {
    /// The built-in templates; every one must parse and exist in `default_language`.
    pub fn built_in(default_language: &str) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Escaping follows the part's name: `.html` parts are HTML-escaped, text parts are not.
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                minijinja::AutoEscape::Html
            } else {
                minijinja::AutoEscape::None
            }
        });
        let mut languages: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (template, language, source) in FILES {
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
            add("subject.txt", parts.subject.trim().to_owned())?;
            add("text.txt", parts.text.trim_start().to_owned())?;
            if let Some(html) = parts.html {
                add("body.html", html.trim_start().to_owned())?;
            }
            languages
                .entry((*template).into())
                .or_default()
                .push((*language).into());
        }
        for (template, available) in &languages {
            if !available.iter().any(|l| l == default_language) {
                return Err(TemplateError::NoDefault(
                    template.clone(),
                    default_language.into(),
                ));
            }
        }
        Ok(Self {
            env,
            languages,
            default_language: default_language.into(),
        })
    }

    /// The language a recipient gets: theirs, their base language, or the default.
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
            subject: render("subject.txt")?
                .unwrap_or_default()
                .replace(['\r', '\n'], " "),
            text: render("text.txt")?.unwrap_or_default(),
            html: render("body.html")?,
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

    #[test]
    fn languages_fall_back_to_the_base_then_the_default() {
        let templates = templates();
        assert_eq!(templates.language_for("test-email", "de-CH").unwrap(), "de");
        assert_eq!(templates.language_for("test-email", "fr").unwrap(), "en");
        assert!(matches!(
            templates.language_for("nope", "en"),
            Err(TemplateError::Unknown(_))
        ));
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
        assert_eq!(rendered.subject, "Test email from Liaison");
    }

    #[test]
    fn a_missing_variable_is_an_error() {
        let error = templates().render("test-email", "en", &json!({ "product": "Liaison" }));
        assert!(matches!(error, Err(TemplateError::Render { .. })));
    }

    #[test]
    fn every_template_needs_the_default_language() {
        assert!(matches!(
            Templates::built_in("fr"),
            Err(TemplateError::NoDefault(..))
        ));
    }
}
