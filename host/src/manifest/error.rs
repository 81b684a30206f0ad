//! Errors that point at the manifest line and key at fault.

use std::path::{Path, PathBuf};

/// A manifest that cannot be used, with the place that is wrong.
///
/// Displays as `path:line:column: key: message`, so editors and terminals can jump to it.
/// The message holds the whole cause, so [`std::error::Error::source`] is empty: a chain
/// printed with `{:#}` says each cause once.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("{}: cannot read manifest: {cause}", path.display())]
    Read {
        /// The manifest file.
        path: PathBuf,
        /// Why (in the message, not a `source`).
        cause: std::io::Error,
    },
    /// The file was read but something in it is wrong.
    #[error("{}:{line}:{column}: {key}: {message}", path.display())]
    Invalid {
        /// The manifest file.
        path: PathBuf,
        /// 1-based line of the offending text.
        line: usize,
        /// 1-based column of the offending text.
        column: usize,
        /// Dotted path of the key at fault (`functions.hello.timeout`), or `(document)`.
        key: String,
        /// What is wrong with it.
        message: String,
    },
}

impl ManifestError {
    /// Builds an [`ManifestError::Invalid`] from a byte offset into `source`.
    pub(crate) fn at(
        path: &Path,
        source: &str,
        offset: usize,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = line_column(source, offset);
        ManifestError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            key: key.into(),
            message: message.into(),
        }
    }

    /// The 1-based line the error points at, if it points at one.
    pub fn line(&self) -> Option<usize> {
        match self {
            ManifestError::Invalid { line, .. } => Some(*line),
            ManifestError::Read { .. } => None,
        }
    }
}

/// Asserts that no error in `e`'s chain repeats its cause's message: printed with `{:#}`
/// (as the command line prints errors), each cause must appear once.
#[cfg(test)]
pub(crate) fn assert_each_cause_once(e: &(dyn std::error::Error + 'static)) {
    let mut current = Some(e);
    while let Some(error) = current {
        if let Some(cause) = error.source() {
            let (text, cause_text) = (error.to_string(), cause.to_string());
            assert!(
                !text.contains(&cause_text),
                "`{text}` repeats its cause `{cause_text}`"
            );
        }
        current = error.source();
    }
}

/// 1-based line and column (in characters) of byte `offset` in `source`.
fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::{ManifestError, assert_each_cause_once, line_column};

    #[test]
    fn line_and_column_are_one_based() {
        let src = "a = 1\nbb = 2\n";
        assert_eq!(line_column(src, 0), (1, 1));
        assert_eq!(line_column(src, 6), (2, 1));
        assert_eq!(line_column(src, 9), (2, 4));
        assert_eq!(line_column(src, 999), (3, 1));
    }

    #[test]
    fn an_unreadable_manifest_says_why_once() {
        let e = crate::manifest::Manifest::load(std::path::Path::new("/nonexistent/portico.toml"))
            .expect_err("no such file");
        assert!(matches!(e, ManifestError::Read { .. }), "{e:?}");
        assert_each_cause_once(&e);
        let text = format!("{:#}", anyhow::Error::from(e));
        assert_eq!(text.matches("os error 2").count(), 1, "{text}");
        assert!(
            text.starts_with("/nonexistent/portico.toml: cannot read manifest: "),
            "{text}"
        );
    }
}
