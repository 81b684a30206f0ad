//! Reading `#[model(..)]` and the `#[serde(..)]` options models honour.

use syn::meta::ParseNestedMeta;
use syn::{Attribute, Expr, LitStr, Path, Result};

/// A secondary index, as declared on the container.
pub struct IndexAttr {
    pub name: LitStr,
    pub pk: LitStr,
    pub sk: Option<LitStr>,
    pub local: bool,
}

/// Container options.
#[derive(Default)]
pub struct ContainerAttrs {
    pub table: Option<LitStr>,
    pub pk: Option<LitStr>,
    pub sk: Option<LitStr>,
    pub pk_attribute: Option<LitStr>,
    pub sk_attribute: Option<LitStr>,
    pub entity: Option<LitStr>,
    pub entity_attribute: Option<LitStr>,
    pub no_entity: bool,
    pub indexes: Vec<IndexAttr>,
    pub rename_all: Option<LitStr>,
}

/// A `validate(..)` rule.
pub enum Rule {
    Range {
        min: Option<Expr>,
        max: Option<Expr>,
    },
    Length {
        min: Option<Expr>,
        max: Option<Expr>,
    },
    Regex(LitStr),
    With(Path),
}

/// How a timestamp is stored.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Format {
    EpochMillis,
    EpochSeconds,
    Iso8601,
}

/// Field options.
#[derive(Default)]
pub struct FieldAttrs {
    pub rename: Option<LitStr>,
    pub skip: bool,
    pub serde_default: Option<Option<Path>>,
    pub skip_serializing_if: Option<Path>,
    pub default: Option<Expr>,
    pub default_fn: Option<Path>,
    pub rules: Vec<Rule>,
    pub get: Option<Path>,
    pub set: Option<Path>,
    pub created_at: bool,
    pub updated_at: bool,
    pub format: Option<(Format, proc_macro2::Span)>,
    pub ttl: bool,
    pub unknown: bool,
}

fn string(meta: &ParseNestedMeta<'_>) -> Result<LitStr> {
    meta.value()?.parse()
}

/// A serde string naming a path: `skip_serializing_if = "Vec::is_empty"`.
fn path_in_string(meta: &ParseNestedMeta<'_>) -> Result<Path> {
    string(meta)?.parse()
}

/// Skips a serde option's value, whatever its form.
fn skip_value(meta: &ParseNestedMeta<'_>) -> Result<()> {
    if meta.input.peek(syn::Token![=]) {
        let _: Expr = meta.value()?.parse()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.parse_nested_meta(|inner| skip_value(&inner))?;
    }
    Ok(())
}

pub fn container(attrs: &[Attribute]) -> Result<ContainerAttrs> {
    let mut out = ContainerAttrs::default();
    for attr in attrs {
        if attr.path().is_ident("model") {
            attr.parse_nested_meta(|meta| {
                let key = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
                match key.as_str() {
                    "table" => out.table = Some(string(&meta)?),
                    "pk" => out.pk = Some(string(&meta)?),
                    "sk" => out.sk = Some(string(&meta)?),
                    "pk_attribute" => out.pk_attribute = Some(string(&meta)?),
                    "sk_attribute" => out.sk_attribute = Some(string(&meta)?),
                    "entity" => out.entity = Some(string(&meta)?),
                    "entity_attribute" => out.entity_attribute = Some(string(&meta)?),
                    "no_entity" => out.no_entity = true,
                    "index" => out.indexes.extend(index(&meta)?),
                    _ => {
                        return Err(meta.error(
                            "unknown model option; expected one of table, pk, sk, pk_attribute, sk_attribute, entity, entity_attribute, no_entity, index",
                        ));
                    }
                }
                Ok(())
            })?;
        } else if attr.path().is_ident("serde") {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename_all") {
                    if meta.input.peek(syn::token::Paren) {
                        return Err(meta.error(
                            "models read `rename_all = \"..\"` only, the same for serializing and deserializing",
                        ));
                    }
                    out.rename_all = Some(string(&meta)?);
                    return Ok(());
                }
                skip_value(&meta)
            })?;
        }
    }
    Ok(out)
}

/// `index(name = "..", pk = "..", sk = "..", local)`, or with the name as a path:
/// `index(by_status(pk = "..", sk = ".."), by_rank(..))`. The second form keeps
/// clippy's `duplicated_attributes` quiet when two indexes share a key attribute (it
/// takes two `sk = "rank"` under `index` for a repeated attribute).
fn index(meta: &ParseNestedMeta<'_>) -> Result<Vec<IndexAttr>> {
    let mut options = IndexOptions::default();
    let mut named = Vec::new();
    meta.parse_nested_meta(|inner| {
        if inner.input.peek(syn::token::Paren) {
            let Some(ident) = inner.path.get_ident() else {
                return Err(inner.error("an index name is one identifier: `by_status(pk = ..)`"));
            };
            let mut named_options = IndexOptions {
                name: Some(LitStr::new(&ident.to_string(), ident.span())),
                ..IndexOptions::default()
            };
            inner.parse_nested_meta(|option| named_options.parse(&option, false))?;
            named.push(named_options.finish(&inner)?);
            Ok(())
        } else {
            options.parse(&inner, true)
        }
    })?;
    if named.is_empty() {
        Ok(vec![options.finish(meta)?])
    } else if options.is_empty() {
        Ok(named)
    } else {
        Err(meta.error("give `index(name = .., pk = ..)` or `index(NAME(pk = ..), ..)`, not both"))
    }
}

#[derive(Default)]
struct IndexOptions {
    name: Option<LitStr>,
    pk: Option<LitStr>,
    sk: Option<LitStr>,
    local: bool,
}

impl IndexOptions {
    fn is_empty(&self) -> bool {
        self.name.is_none() && self.pk.is_none() && self.sk.is_none() && !self.local
    }

    fn parse(&mut self, inner: &ParseNestedMeta<'_>, named_here: bool) -> Result<()> {
        if named_here && inner.path.is_ident("name") {
            self.name = Some(string(inner)?);
        } else if inner.path.is_ident("pk") {
            self.pk = Some(string(inner)?);
        } else if inner.path.is_ident("sk") {
            self.sk = Some(string(inner)?);
        } else if inner.path.is_ident("local") {
            self.local = true;
        } else if inner.path.is_ident("global") {
            self.local = false;
        } else {
            return Err(inner.error("unknown index option; expected name, pk, sk, local or global"));
        }
        Ok(())
    }

    fn finish(self, meta: &ParseNestedMeta<'_>) -> Result<IndexAttr> {
        let name = self
            .name
            .ok_or_else(|| meta.error("an index needs `name = \"..\"`"))?;
        let pk = self
            .pk
            .ok_or_else(|| meta.error("an index needs `pk = \"field\"`"))?;
        Ok(IndexAttr {
            name,
            pk,
            sk: self.sk,
            local: self.local,
        })
    }
}

pub fn field(attrs: &[Attribute]) -> Result<FieldAttrs> {
    let mut out = FieldAttrs::default();
    for attr in attrs {
        if attr.path().is_ident("model") {
            attr.parse_nested_meta(|meta| {
                let key = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
                match key.as_str() {
                    "default" => out.default = Some(meta.value()?.parse()?),
                    "default_fn" => out.default_fn = Some(meta.value()?.parse()?),
                    "validate" => meta.parse_nested_meta(|rule| {
                        out.rules.push(parse_rule(&rule)?);
                        Ok(())
                    })?,
                    "get" => out.get = Some(meta.value()?.parse()?),
                    "set" => out.set = Some(meta.value()?.parse()?),
                    "created_at" => out.created_at = true,
                    "updated_at" => out.updated_at = true,
                    "format" => {
                        let lit = string(&meta)?;
                        let format = match lit.value().as_str() {
                            "epoch_ms" => Format::EpochMillis,
                            "epoch_s" => Format::EpochSeconds,
                            "iso8601" => Format::Iso8601,
                            _ => {
                                return Err(syn::Error::new(
                                    lit.span(),
                                    "format is one of \"epoch_ms\", \"epoch_s\", \"iso8601\"",
                                ));
                            }
                        };
                        out.format = Some((format, lit.span()));
                    }
                    "ttl" => out.ttl = true,
                    "unknown" => out.unknown = true,
                    _ => {
                        return Err(meta.error(
                            "unknown model field option; expected one of default, default_fn, validate, get, set, created_at, updated_at, format, ttl, unknown",
                        ));
                    }
                }
                Ok(())
            })?;
        } else if attr.path().is_ident("serde") {
            attr.parse_nested_meta(|meta| {
                let key = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
                match key.as_str() {
                    "rename" => {
                        if meta.input.peek(syn::token::Paren) {
                            return Err(meta.error(
                                "models read `rename = \"..\"` only, the same for serializing and deserializing",
                            ));
                        }
                        out.rename = Some(string(&meta)?);
                    }
                    "skip" => out.skip = true,
                    "default" => {
                        out.serde_default = Some(if meta.input.peek(syn::Token![=]) {
                            Some(path_in_string(&meta)?)
                        } else {
                            None
                        });
                    }
                    "skip_serializing_if" => out.skip_serializing_if = Some(path_in_string(&meta)?),
                    "flatten" | "with" | "serialize_with" | "deserialize_with" | "skip_serializing"
                    | "skip_deserializing" | "alias" | "getter" => {
                        return Err(meta.error(format!(
                            "models store each field as its own attribute and do not honour serde's `{key}`; use #[model(get/set)] transforms, #[model(unknown)] for extra attributes, or a field type with its own Serialize/Deserialize"
                        )));
                    }
                    _ => skip_value(&meta)?,
                }
                Ok(())
            })?;
        }
    }
    Ok(out)
}

fn bound(meta: &ParseNestedMeta<'_>) -> Result<(Option<Expr>, Option<Expr>)> {
    let (mut min, mut max) = (None, None);
    meta.parse_nested_meta(|b| {
        if b.path.is_ident("min") {
            min = Some(b.value()?.parse()?);
        } else if b.path.is_ident("max") {
            max = Some(b.value()?.parse()?);
        } else {
            return Err(b.error("expected `min = ..` or `max = ..`"));
        }
        Ok(())
    })?;
    if min.is_none() && max.is_none() {
        return Err(meta.error("give `min = ..`, `max = ..` or both"));
    }
    Ok((min, max))
}

fn parse_rule(meta: &ParseNestedMeta<'_>) -> Result<Rule> {
    if meta.path.is_ident("range") {
        let (min, max) = bound(meta)?;
        Ok(Rule::Range { min, max })
    } else if meta.path.is_ident("length") {
        let (min, max) = bound(meta)?;
        Ok(Rule::Length { min, max })
    } else if meta.path.is_ident("regex") {
        let pattern = string(meta)?;
        if let Err(e) = regex_lite::Regex::new(&pattern.value()) {
            return Err(syn::Error::new(
                pattern.span(),
                format!("invalid regex: {e}"),
            ));
        }
        Ok(Rule::Regex(pattern))
    } else if meta.path.is_ident("with") {
        Ok(Rule::With(meta.value()?.parse()?))
    } else {
        Err(meta.error("a rule is range(..), length(..), regex = \"..\" or with = path"))
    }
}

/// Applies serde's `rename_all` to a field name.
pub fn rename(name: &str, rule: Option<&LitStr>) -> Result<String> {
    let Some(rule) = rule else {
        return Ok(name.to_owned());
    };
    let words: Vec<&str> = name.split('_').filter(|w| !w.is_empty()).collect();
    let capitalized = |w: &str| {
        let mut c = w.chars();
        c.next()
            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
            .unwrap_or_default()
    };
    Ok(match rule.value().as_str() {
        "lowercase" => name.to_lowercase(),
        "UPPERCASE" => name.to_uppercase(),
        "PascalCase" => words.iter().map(|w| capitalized(w)).collect(),
        "camelCase" => {
            let pascal: String = words.iter().map(|w| capitalized(w)).collect();
            let mut c = pascal.chars();
            c.next()
                .map(|f| f.to_lowercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        }
        "snake_case" => name.to_owned(),
        "SCREAMING_SNAKE_CASE" => name.to_uppercase(),
        "kebab-case" => name.replace('_', "-"),
        "SCREAMING-KEBAB-CASE" => name.to_uppercase().replace('_', "-"),
        _ => {
            return Err(syn::Error::new(
                rule.span(),
                "unknown rename_all rule (serde's: lowercase, UPPERCASE, PascalCase, camelCase, snake_case, SCREAMING_SNAKE_CASE, kebab-case, SCREAMING-KEBAB-CASE)",
            ));
        }
    })
}
