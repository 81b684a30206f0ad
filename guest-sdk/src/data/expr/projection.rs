//! Projections: which attributes a read returns.

use super::path::Path;
use super::placeholders::Placeholders;
use crate::data::Error;

/// The attributes a read returns.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) enum Projection {
    /// Every attribute.
    #[default]
    All,
    /// These paths, through generated placeholders.
    Paths(Vec<Path>),
    /// A `ProjectionExpression` written by hand.
    Raw(String),
}

impl Projection {
    pub(crate) fn paths<P: Into<Path>>(paths: impl IntoIterator<Item = P>) -> Self {
        Projection::Paths(paths.into_iter().map(Into::into).collect())
    }

    /// The `ProjectionExpression`, if any.
    pub(crate) fn render(&self, ph: &mut Placeholders) -> Result<Option<String>, Error> {
        match self {
            Projection::All => Ok(None),
            Projection::Raw(text) => Ok(Some(text.clone())),
            Projection::Paths(paths) if paths.is_empty() => Err(Error::validation(
                "a projection needs at least one attribute",
            )),
            Projection::Paths(paths) => {
                let rendered: Vec<String> = paths.iter().map(|p| p.render(ph)).collect();
                Ok(Some(rendered.join(", ")))
            }
        }
    }
}
