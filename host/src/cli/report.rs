//! How the command line prints an error: the message and its causes, each once.

/// The error and its causes separated by `: `, as `{:#}` prints them, but leaving out a
/// cause whose message an earlier one already contains. Portico's own error types say
/// their cause in their message and do not also return it as their `source()`; this
/// keeps a type that does both (the cause printed twice) from showing it twice here.
pub fn error_chain(error: &anyhow::Error) -> String {
    let mut text = String::new();
    let mut said: Option<String> = None;
    for cause in error.chain() {
        let message = cause.to_string();
        if said.as_ref().is_some_and(|s| s.contains(&message)) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&message);
        said = Some(message);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::error_chain;
    use anyhow::Context as _;

    /// Says its cause in its message and returns it as its source: printed twice by `{:#}`.
    #[derive(Debug, thiserror::Error)]
    #[error("cannot load: {source}")]
    struct Twice {
        source: std::io::Error,
    }

    #[test]
    fn each_cause_is_printed_once() {
        let twice = Twice {
            source: std::io::Error::other("disk on fire"),
        };
        let e = anyhow::Error::from(twice).context("function `f`");
        assert_eq!(
            format!("{e:#}"),
            "function `f`: cannot load: disk on fire: disk on fire"
        );
        assert_eq!(error_chain(&e), "function `f`: cannot load: disk on fire");
    }

    #[test]
    fn distinct_causes_are_all_printed() {
        let e = Err::<(), _>(std::io::Error::other("no such file"))
            .context("cannot read x.wasm")
            .context("function `f`")
            .unwrap_err();
        assert_eq!(error_chain(&e), format!("{e:#}"));
        assert_eq!(
            error_chain(&e),
            "function `f`: cannot read x.wasm: no such file"
        );
    }
}
