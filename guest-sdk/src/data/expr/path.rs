//! [`Path`]: an attribute, or a nested element of one.

use std::fmt;

use super::placeholders::Placeholders;

/// A document path: a top-level attribute, then map fields and list indices.
///
/// Names are always sent through `#` placeholders, so reserved words (`status`, `name`,
/// `data`, …) and names with dots or dashes need no escaping: `attr("a.b")` is the
/// top-level attribute named `a.b`, while `attr("a").field("b")` is field `b` of map `a`.
///
/// ```
/// use portico_guest::data::attr;
/// let p = attr("address").field("lines").index(0);
/// assert_eq!(p.to_string(), "address.lines[0]");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Path {
    segments: Vec<Segment>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Segment {
    Name(String),
    Index(u32),
}

/// The top-level attribute `name`: the start of a [`Path`], and of conditions.
///
/// ```
/// use portico_guest::data::attr;
/// let open = attr("status").eq("open");
/// ```
pub fn attr(name: impl Into<String>) -> Path {
    Path::new(name)
}

impl Path {
    /// The top-level attribute `name`.
    ///
    /// ```
    /// # use portico_guest::data::Path;
    /// assert_eq!(Path::new("id").to_string(), "id");
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        Path {
            segments: vec![Segment::Name(name.into())],
        }
    }

    /// Field `name` of the map at this path.
    ///
    /// ```
    /// # use portico_guest::data::attr;
    /// assert_eq!(attr("a").field("b").to_string(), "a.b");
    /// ```
    pub fn field(mut self, name: impl Into<String>) -> Self {
        self.segments.push(Segment::Name(name.into()));
        self
    }

    /// Element `i` of the list at this path.
    ///
    /// ```
    /// # use portico_guest::data::attr;
    /// assert_eq!(attr("tags").index(2).to_string(), "tags[2]");
    /// ```
    pub fn index(mut self, i: u32) -> Self {
        self.segments.push(Segment::Index(i));
        self
    }

    /// The path with placeholders: `#n0.#n1[2]`.
    pub(crate) fn render(&self, ph: &mut Placeholders) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Name(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(&ph.name(name));
                }
                Segment::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
            }
        }
        out
    }
}

impl fmt::Display for Path {
    /// The path as written in an expression without placeholders (for messages).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Name(name) if i == 0 => f.write_str(name)?,
                Segment::Name(name) => write!(f, ".{name}")?,
                Segment::Index(k) => write!(f, "[{k}]")?,
            }
        }
        Ok(())
    }
}

impl From<&str> for Path {
    fn from(name: &str) -> Self {
        Path::new(name)
    }
}

impl From<String> for Path {
    fn from(name: String) -> Self {
        Path::new(name)
    }
}

impl From<&String> for Path {
    fn from(name: &String) -> Self {
        Path::new(name.clone())
    }
}

impl From<&Path> for Path {
    fn from(path: &Path) -> Self {
        path.clone()
    }
}
