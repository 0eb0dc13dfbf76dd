//! Logging set-up, once per process: readable text, or one JSON object per
//! line (`LOG_FORMAT=json`) with the fields of every enclosing span, so a log
//! platform can follow one interaction or analysis across lines.

use tracing_subscriber::EnvFilter;

const DEFAULT_FILTER: &str = "warn,flipfix_bot=info,flipfix_core=info";

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

impl Format {
    /// `json` (any case) is JSON; unset is text; anything else is text,
    /// reported by [`init_with`].
    fn parse(raw: Option<&str>) -> Result<Self, String> {
        match raw.map(str::trim) {
            None | Some("") => Ok(Format::Text),
            Some(v) if v.eq_ignore_ascii_case("json") => Ok(Format::Json),
            Some(v) if v.eq_ignore_ascii_case("text") => Ok(Format::Text),
            Some(v) => Err(format!(
                "LOG_FORMAT={v:?} is not json or text; logging as text"
            )),
        }
    }
}

/// Text logs to stderr with the given filter (`RUST_LOG` syntax).
pub fn init(filter: Option<&str>) {
    init_with(filter, None);
}

/// Logs to stderr with `filter` (default `warn,flipfix_bot=info,flipfix_core=info`) in
/// `format` (`LOG_FORMAT`). An invalid filter or format is reported once, as
/// a warning in the chosen format, and the default used: silently replacing
/// it would hide the very logs the operator asked for.
pub fn init_with(filter: Option<&str>, format: Option<&str>) {
    let mut problems = Vec::new();
    let env_filter = match filter {
        None => EnvFilter::new(DEFAULT_FILTER),
        Some(raw) => EnvFilter::try_new(raw).unwrap_or_else(|err| {
            problems.push(format!(
                "RUST_LOG={raw:?} is not a valid filter ({err}); using {DEFAULT_FILTER:?}"
            ));
            EnvFilter::new(DEFAULT_FILTER)
        }),
    };
    let format = Format::parse(format).unwrap_or_else(|problem| {
        problems.push(problem);
        Format::Text
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let installed = match format {
        Format::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
        Format::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
    };
    if installed.is_ok() {
        for problem in problems {
            tracing::warn!("{problem}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_format_accepts_json_and_text_and_reports_anything_else() {
        assert_eq!(Format::parse(None), Ok(Format::Text));
        assert_eq!(Format::parse(Some("JSON")), Ok(Format::Json));
        assert_eq!(Format::parse(Some("text")), Ok(Format::Text));
        let problem = Format::parse(Some("yaml")).unwrap_err();
        assert!(problem.contains("\"yaml\""), "{problem}");
    }
}
