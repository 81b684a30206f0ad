//! `#[derive(Model)]`: the [`Model`] impl, the fields struct and `key(..)`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::{Data, DeriveInput, Fields, GenericArgument, Ident, LitStr, PathArguments, Type};

use crate::attrs::{self, FieldAttrs, Format, Rule};
use crate::template::{self, Piece};

/// One field of the struct, as the expansion needs it.
struct Field {
    ident: Ident,
    ty: Type,
    /// `T` of an `Option<T>`.
    option_of: Option<Type>,
    attribute: String,
    attrs: FieldAttrs,
}

impl Field {
    fn stored(&self) -> bool {
        !self.attrs.skip && !self.attrs.unknown
    }
}

/// A key as the expansion writes it: a field's attribute, or a template.
struct KeySpec {
    attribute: String,
    /// The fields the key is built from, in order.
    fields: Vec<usize>,
    template: Option<Vec<Piece>>,
}

fn option_inner(ty: &Type) -> Option<Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(t) if args.args.len() == 1 => Some(t.clone()),
        _ => None,
    }
}

fn err<T>(span: Span, message: impl std::fmt::Display) -> syn::Result<T> {
    Err(syn::Error::new(span, message))
}

pub fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    if !input.generics.params.is_empty() {
        return err(input.ident.span(), "a model cannot be generic");
    }
    let Data::Struct(data) = &input.data else {
        return err(
            input.ident.span(),
            "#[derive(Model)] is for structs with named fields",
        );
    };
    let Fields::Named(named) = &data.fields else {
        return err(
            input.ident.span(),
            "#[derive(Model)] is for structs with named fields",
        );
    };
    let container = attrs::container(&input.attrs)?;
    let mut fields = Vec::new();
    for f in &named.named {
        let ident = f.ident.clone().expect("named fields have names");
        let attrs = attrs::field(&f.attrs)?;
        let rust_name = ident.to_string().trim_start_matches("r#").to_owned();
        let attribute = match &attrs.rename {
            Some(r) => r.value(),
            None => attrs::rename(&rust_name, container.rename_all.as_ref())?,
        };
        fields.push(Field {
            option_of: option_inner(&f.ty),
            ty: f.ty.clone(),
            ident,
            attribute,
            attrs,
        });
    }
    check_fields(&fields)?;

    let name = &input.ident;
    let table = container
        .table
        .clone()
        .ok_or_else(|| syn::Error::new(name.span(), "a model needs #[model(table = \"..\")]"))?;
    let pk_lit = container
        .pk
        .clone()
        .ok_or_else(|| syn::Error::new(name.span(), "a model needs #[model(pk = \"..\")]"))?;
    let pk = key_spec(&fields, &pk_lit, container.pk_attribute.as_ref(), "pk")?;
    let sk = match &container.sk {
        Some(lit) => Some(key_spec(
            &fields,
            lit,
            container.sk_attribute.as_ref(),
            "sk",
        )?),
        None => None,
    };

    let m = quote!(::portico_guest::data::model);
    let p = quote!(::portico_guest::data::model::__private);
    let vis = &input.vis;
    let fields_struct = format_ident!("{}Fields", name);

    // The schema.
    let name_text = name.to_string();
    let entity = if container.no_entity {
        quote!(::core::option::Option::None)
    } else {
        let attribute = container
            .entity_attribute
            .as_ref()
            .map_or_else(|| "_type".to_owned(), LitStr::value);
        let value = container
            .entity
            .as_ref()
            .map_or_else(|| name_text.clone(), LitStr::value);
        quote!(::core::option::Option::Some((#attribute, #value)))
    };
    let pk_def = key_def(&fields, &pk, true);
    let sk_def = match &sk {
        Some(sk) => {
            let def = key_def(&fields, sk, true);
            quote!(::core::option::Option::Some(#def))
        }
        None => quote!(::core::option::Option::None),
    };
    let mut index_defs = Vec::new();
    for index in &container.indexes {
        // A local index shares the table's partition key, which may be a template.
        let ipk = if index.pk.value() == pk.attribute && pk.template.is_some() {
            key_def(&fields, &pk, true)
        } else {
            let spec = key_spec(&fields, &index.pk, None, "index pk")?;
            if spec.template.is_some() {
                return err(
                    index.pk.span(),
                    "an index key names a field, or the table's template partition key (for a local index)",
                );
            }
            key_def(&fields, &spec, false)
        };
        let isk = match &index.sk {
            Some(lit) => {
                let spec = key_spec(&fields, lit, None, "index sk")?;
                if spec.template.is_some() {
                    return err(
                        lit.span(),
                        "an index key names a field (templates are for the table's key)",
                    );
                }
                let def = key_def(&fields, &spec, false);
                quote!(::core::option::Option::Some(#def))
            }
            None => quote!(::core::option::Option::None),
        };
        let iname = &index.name;
        let global = !index.local;
        index_defs.push(
            quote!(#m::IndexDef { name: #iname, global: #global, partition: #ipk, sort: #isk }),
        );
    }
    let check_idents: Vec<Ident> = fields
        .iter()
        .map(|f| format_ident!("__portico_check_{}", f.ident))
        .collect();
    let rules_idents: Vec<Ident> = fields
        .iter()
        .map(|f| format_ident!("__portico_rules_{}", f.ident))
        .collect();
    let attribute_defs = fields.iter().zip(&check_idents).filter(|(f, _)| f.stored()).map(|(f, check)| {
        let attribute = &f.attribute;
        let required = f.option_of.is_none() && !has_default(f);
        quote!(#m::AttributeDef {
            name: #attribute,
            required: #required,
            check: ::core::option::Option::Some(#check as fn(&::portico_guest::data::Value) -> ::core::result::Result<(), #m::Error>),
        })
    });
    let updated_at = match fields.iter().find(|f| f.attrs.updated_at) {
        Some(f) => {
            let attribute = &f.attribute;
            let format = time_format(f)?;
            let format = match format {
                Format::EpochMillis => quote!(#m::TimeFormat::EpochMillis),
                Format::EpochSeconds => quote!(#m::TimeFormat::EpochSeconds),
                Format::Iso8601 => quote!(#m::TimeFormat::Iso8601),
            };
            quote!(::core::option::Option::Some((#attribute, #format)))
        }
        None => quote!(::core::option::Option::None),
    };
    let ttl = match fields.iter().find(|f| f.attrs.ttl) {
        Some(f) => {
            let attribute = &f.attribute;
            quote!(::core::option::Option::Some(#attribute))
        }
        None => quote!(::core::option::Option::None),
    };
    let save_unknown = fields.iter().any(|f| f.attrs.unknown);

    // Per field: rules, checks, encode, decode, prepare, typed path.
    let mut rule_fns = Vec::new();
    let mut encode = Vec::new();
    let mut decode = Vec::new();
    // Decoding walks the item once, as serde's derive does, rather than looking each
    // field up: one slot per field, filled by a match on the attribute's name.
    let mut slots = Vec::new();
    let mut arms = Vec::new();
    let mut unknown_field = None;
    let mut validate = Vec::new();
    let mut prepare = Vec::new();
    let mut field_paths = Vec::new();
    let mut field_inits = Vec::new();
    let mut inits = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let ident = &f.ident;
        let ty = &f.ty;
        let attribute = &f.attribute;
        let rules_fn = &rules_idents[i];
        let check_fn = &check_idents[i];
        inits.push(quote!(#ident));
        if f.attrs.unknown {
            encode.push(quote! {
                for (name, value) in ::core::iter::IntoIterator::into_iter(::core::clone::Clone::clone(&self.#ident)) {
                    item.entry(name).or_insert(value);
                }
            });
            unknown_field = Some(quote!(let #ident: #ty = ::core::convert::From::from(unknown);));
            continue;
        }
        if f.attrs.skip {
            decode.push(quote!(let #ident: #ty = ::core::default::Default::default();));
            continue;
        }
        let rules = rule_checks(f)?;
        let has_rules = !rules.is_empty();
        rule_fns.push(quote! {
            #[allow(unused_variables, clippy::ptr_arg)]
            fn #rules_fn(value: &#ty) -> ::core::result::Result<(), #m::Error> {
                #(#rules)*
                ::core::result::Result::Ok(())
            }
            fn #check_fn(value: &::portico_guest::data::Value) -> ::core::result::Result<(), #m::Error> {
                let value: #ty = #p::decode(#attribute, ::core::clone::Clone::clone(value))?;
                #rules_fn(&value)
            }
        });
        if has_rules {
            validate.push(quote!(#rules_fn(&self.#ident)?;));
        }
        // encode
        let value_expr = match (&f.attrs.set, &f.option_of) {
            (Some(set), None) => quote!(&#set(::core::clone::Clone::clone(&self.#ident))),
            (Some(set), Some(_)) => quote!(&::core::clone::Clone::clone(&self.#ident).map(#set)),
            (None, _) => quote!(&self.#ident),
        };
        let put = quote! {
            if let ::core::option::Option::Some(value) = #p::encode(#attribute, #value_expr)? {
                item.insert(::std::string::String::from(#attribute), value);
            }
        };
        encode.push(match &f.attrs.skip_serializing_if {
            Some(pred) => quote!(if !#pred(&self.#ident) { #put }),
            None => put,
        });
        // decode
        let absent = absent_value(f)?;
        let got = match (&f.attrs.get, &f.option_of) {
            (Some(get), None) => quote!(#get(#p::decode::<#ty>(#attribute, value)?)),
            (Some(get), Some(_)) => quote!(#p::decode::<#ty>(#attribute, value)?.map(#get)),
            (None, _) => quote!(#p::decode::<#ty>(#attribute, value)?),
        };
        let slot = format_ident!("__slot_{}", ident);
        slots.push(
            quote!(let mut #slot: ::core::option::Option<#ty> = ::core::option::Option::None;),
        );
        arms.push(quote!(#attribute => #slot = ::core::option::Option::Some(#got),));
        decode.push(quote! {
            let #ident: #ty = match #slot {
                ::core::option::Option::Some(value) => value,
                ::core::option::Option::None => #absent,
            };
        });
        // prepare: write-side defaults and timestamps
        if f.option_of.is_some()
            && let Some(default) = default_expr(f)
        {
            prepare.push(quote! {
                if self.#ident.is_none() {
                    self.#ident = ::core::option::Option::Some(#default);
                }
            });
        }
        if f.attrs.created_at || f.attrs.updated_at {
            let stamp = match time_format(f)? {
                Format::EpochMillis => quote!(#p::stamp_epoch_ms(now)),
                Format::EpochSeconds => quote!(#p::stamp_epoch_s(now)),
                Format::Iso8601 => quote!(#p::stamp_iso8601(now)),
            };
            if f.attrs.created_at {
                prepare.push(quote! {
                    if creating || #p::is_unset(&self.#ident) {
                        self.#ident = #stamp;
                    }
                });
            } else {
                prepare.push(quote!(self.#ident = #stamp;));
            }
        }
        // typed path
        let doc = format!("The `{attribute}` attribute.");
        field_paths.push(quote!(#[doc = #doc] pub #ident: #m::Field<#ty>,));
        let rules_ptr = if has_rules {
            quote!(::core::option::Option::Some(#rules_fn as fn(&#ty) -> ::core::result::Result<(), #m::Error>))
        } else {
            quote!(::core::option::Option::None)
        };
        field_inits.push(quote!(#ident: #m::Field::new(#attribute, #rules_ptr),));
    }

    // Attributes no field names: kept in the `unknown` field, or ignored.
    let (unknown_arm, unknown_init) = match unknown_field {
        Some(init) => (
            quote!({
                unknown.insert(name, value);
            }),
            init,
        ),
        None => (quote!({}), quote!()),
    };

    // key(..): one argument per key field, in key order.
    let mut key_fields: Vec<usize> = pk.fields;
    if let Some(sk) = &sk {
        for i in &sk.fields {
            if !key_fields.contains(i) {
                key_fields.push(*i);
            }
        }
    }
    let key_params = key_fields.iter().map(|&i| {
        let ident = &fields[i].ident;
        let ty = &fields[i].ty;
        quote!(#ident: impl ::portico_guest::data::model::IntoField<#ty>)
    });
    let key_inserts = key_fields.iter().map(|&i| {
        let ident = &fields[i].ident;
        let ty = &fields[i].ty;
        let attribute = &fields[i].attribute;
        quote! {
            let #ident: #ty = ::portico_guest::data::model::IntoField::into_field(#ident);
            item.insert(::std::string::String::from(#attribute), #p::KeyValue::key_value(&#ident));
        }
    });
    let key_asserts = key_fields.iter().map(|&i| {
        let ty = &fields[i].ty;
        quote!(is_key::<#ty>();)
    });
    let key_doc = format!(
        "The key of the `{name}` with these key fields ({}).",
        key_fields
            .iter()
            .map(|&i| fields[i].ident.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let fields_doc = format!("Typed paths of [`{name}`]'s attributes, from `{name}::fields()`.");
    let schema_static = format_ident!("__PORTICO_SCHEMA_{}", name.to_string().to_uppercase());

    Ok(quote! {
        #[doc = #fields_doc]
        #[derive(Clone, Debug)]
        #[allow(missing_docs)]
        #vis struct #fields_struct {
            #(#field_paths)*
        }

        impl #name {
            /// The typed paths of the attributes, for conditions, key conditions and
            /// updates (also `Model::fields`; inherent so that no trait import is needed).
            #vis fn fields() -> #fields_struct {
                <#name as #m::Model>::fields()
            }

            #[doc = #key_doc]
            #vis fn key(#(#key_params),*) -> #m::Key<#name> {
                let mut item = ::portico_guest::data::Item::new();
                #(#key_inserts)*
                // Cannot fail: every field the key reads was just given, and key fields
                // are strings, numbers or binaries (checked at compile time below).
                #m::Key::from_attributes(&item).expect("every key field is given")
            }
        }

        const _: () = {
        #[allow(non_upper_case_globals)]
            static #schema_static: #m::Schema = #m::Schema {
                name: #name_text,
                table: #table,
                entity: #entity,
                partition: #pk_def,
                sort: #sk_def,
                indexes: &[#(#index_defs),*],
                attributes: &[#(#attribute_defs),*],
                updated_at: #updated_at,
                ttl: #ttl,
                save_unknown: #save_unknown,
            };

            #[allow(dead_code)]
            fn assert_key_fields() {
                fn is_key<T: #p::KeyValue>() {}
                #(#key_asserts)*
            }

            #(#rule_fns)*

            impl #m::Model for #name {
                type Fields = #fields_struct;

                const SCHEMA: &'static #m::Schema = &#schema_static;

                fn fields() -> #fields_struct {
                    #fields_struct { #(#field_inits)* }
                }

                fn encode(&self) -> ::core::result::Result<::portico_guest::data::Item, #m::Error> {
                    let mut item = ::portico_guest::data::Item::new();
                    #(#encode)*
                    ::core::result::Result::Ok(item)
                }

                #[allow(unused_mut, unused_variables)]
                fn decode(item: ::portico_guest::data::Item) -> ::core::result::Result<Self, #m::Error> {
                    #(#slots)*
                    let mut unknown = ::portico_guest::data::Item::new();
                    for (name, value) in item.into_inner() {
                        match name.as_str() {
                            #(#arms)*
                            _ => #unknown_arm,
                        }
                    }
                    #(#decode)*
                    #unknown_init
                    ::core::result::Result::Ok(#name { #(#inits),* })
                }

                fn validate(&self) -> ::core::result::Result<(), #m::Error> {
                    #(#validate)*
                    ::core::result::Result::Ok(())
                }

                #[allow(unused_variables)]
                fn prepare(&mut self, now: ::std::time::SystemTime, creating: bool) {
                    #(#prepare)*
                }
            }
        };
    })
}

fn has_default(f: &Field) -> bool {
    f.attrs.default.is_some() || f.attrs.default_fn.is_some() || f.attrs.serde_default.is_some()
}

/// The model default as a value of the field's inner type (for `Option<T>`, a `T`).
fn default_expr(f: &Field) -> Option<TokenStream> {
    if let Some(e) = &f.attrs.default {
        let target = f.option_of.as_ref().unwrap_or(&f.ty);
        return Some(quote!(<#target as ::core::convert::From<_>>::from(#e)));
    }
    f.attrs.default_fn.as_ref().map(|path| quote!(#path()))
}

/// What a missing attribute reads as.
fn absent_value(f: &Field) -> syn::Result<TokenStream> {
    let attribute = &f.attribute;
    let p = quote!(::portico_guest::data::model::__private);
    if let Some(default) = default_expr(f) {
        return Ok(if f.option_of.is_some() {
            quote!(::core::option::Option::Some(#default))
        } else {
            default
        });
    }
    if let Some(serde_default) = &f.attrs.serde_default {
        return Ok(match serde_default {
            Some(path) => quote!(#path()),
            None => quote!(::core::default::Default::default()),
        });
    }
    if f.option_of.is_some() {
        return Ok(quote!(::core::option::Option::None));
    }
    Ok(quote!(return ::core::result::Result::Err(#p::missing(#attribute))))
}

fn time_format(f: &Field) -> syn::Result<Format> {
    if let Some((format, _)) = f.attrs.format {
        return Ok(format);
    }
    Ok(Format::EpochMillis)
}

fn rule_checks(f: &Field) -> syn::Result<Vec<TokenStream>> {
    let p = quote!(::portico_guest::data::model::__private);
    let attribute = &f.attribute;
    let opt = |e: &Option<syn::Expr>, as_ty: TokenStream| match e {
        Some(e) => quote!(::core::option::Option::Some((#e) as #as_ty)),
        None => quote!(::core::option::Option::None),
    };
    let mut out = Vec::new();
    for rule in &f.attrs.rules {
        out.push(match rule {
            Rule::Range { min, max } => {
                let (min, max) = (opt(min, quote!(f64)), opt(max, quote!(f64)));
                quote!(#p::check_range(#attribute, value, #min, #max)?;)
            }
            Rule::Length { min, max } => {
                let (min, max) = (opt(min, quote!(usize)), opt(max, quote!(usize)));
                quote!(#p::check_length(#attribute, value, #min, #max)?;)
            }
            Rule::Regex(pattern) => quote! {
                {
                    static REGEX: ::std::sync::OnceLock<#p::Regex> = ::std::sync::OnceLock::new();
                    // The pattern was compiled when the derive ran, by the same engine.
                    let regex = REGEX.get_or_init(|| #p::Regex::new(#pattern).expect("checked at compile time"));
                    #p::check_regex(#attribute, value, #pattern, regex)?;
                }
            },
            Rule::With(path) => {
                let rule = quote!(#path).to_string().replace(' ', "");
                let fail = quote! {
                    if let ::core::result::Result::Err(message) = #path(value) {
                        return ::core::result::Result::Err(#p::rule_failed(#attribute, #rule, ::std::string::ToString::to_string(&message)));
                    }
                };
                // On an `Option` field the rule sees the value inside, and `None` passes.
                if f.option_of.is_some() {
                    quote!(if let ::core::option::Option::Some(value) = value { #fail })
                } else {
                    fail
                }
            }
        });
    }
    Ok(out)
}

fn check_fields(fields: &[Field]) -> syn::Result<()> {
    for (i, f) in fields.iter().enumerate() {
        if let Some(other) = fields[..i]
            .iter()
            .find(|o| o.stored() && f.stored() && o.attribute == f.attribute)
        {
            return err(
                f.ident.span(),
                format!(
                    "`{}` and `{}` are both stored as `{}`",
                    other.ident, f.ident, f.attribute
                ),
            );
        }
        if f.attrs.created_at && f.attrs.updated_at {
            return err(
                f.ident.span(),
                "a field is `created_at` or `updated_at`, not both",
            );
        }
        if f.attrs.format.is_some() && !(f.attrs.created_at || f.attrs.updated_at) {
            let span = f.attrs.format.map_or(f.ident.span(), |(_, s)| s);
            return err(span, "`format` is for `created_at` and `updated_at` fields");
        }
        if f.attrs.default.is_some() && f.attrs.default_fn.is_some() {
            return err(f.ident.span(), "give `default` or `default_fn`, not both");
        }
        if f.attrs.unknown && (!f.attrs.rules.is_empty() || has_default(f)) {
            return err(f.ident.span(), "the `unknown` field takes no other options");
        }
    }
    let count = |p: fn(&FieldAttrs) -> bool| fields.iter().filter(|f| p(&f.attrs)).count();
    for (what, n) in [
        ("created_at", count(|a| a.created_at)),
        ("updated_at", count(|a| a.updated_at)),
        ("ttl", count(|a| a.ttl)),
        ("unknown", count(|a| a.unknown)),
    ] {
        if n > 1 {
            return err(
                Span::call_site(),
                format!("a model has at most one `{what}` field"),
            );
        }
    }
    Ok(())
}

fn find_field(fields: &[Field], name: &str) -> Option<usize> {
    fields
        .iter()
        .position(|f| f.ident == name || f.ident.to_string().trim_start_matches("r#") == name)
}

/// `pk = "id"` names a field; anything else is a template over `{field}`s.
fn key_spec(
    fields: &[Field],
    lit: &LitStr,
    attribute: Option<&LitStr>,
    role: &str,
) -> syn::Result<KeySpec> {
    let text = lit.value();
    if let Some(i) = find_field(fields, &text) {
        if !fields[i].stored() {
            return err(
                lit.span(),
                format!("`{text}` is not stored, so it cannot be a key"),
            );
        }
        if fields[i].option_of.is_some() && !role.starts_with("index") {
            return err(
                lit.span(),
                format!(
                    "`{text}` is an Option; a table's key attribute is always present (index keys may be, for sparse indexes)"
                ),
            );
        }
        if let Some(a) = attribute {
            return err(
                a.span(),
                format!(
                    "`{role}` names the field `{text}`, whose attribute is its own; `{role}_attribute` is for templates"
                ),
            );
        }
        return Ok(KeySpec {
            attribute: fields[i].attribute.clone(),
            fields: vec![i],
            template: None,
        });
    }
    let pieces = template::parse(&text).map_err(|e| syn::Error::new(lit.span(), e))?;
    let mut used = Vec::new();
    for piece in &pieces {
        if let Piece::Field(name) = piece {
            let Some(i) = find_field(fields, name) else {
                return err(
                    lit.span(),
                    format!("key template `{text}`: no field `{name}`"),
                );
            };
            if !fields[i].stored() || fields[i].option_of.is_some() {
                return err(
                    lit.span(),
                    format!(
                        "key template `{text}`: `{name}` must be a stored field that is not an Option"
                    ),
                );
            }
            used.push(i);
        }
    }
    if used.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return err(
            lit.span(),
            format!(
                "`{text}` is not a field; a constant key must hold a character other than letters, digits and `_` (`#{text}`, say), so that a misspelt field name is not taken for one"
            ),
        );
    }
    let attribute = attribute.map_or_else(
        || role.trim_start_matches("index ").to_owned(),
        LitStr::value,
    );
    if find_field(fields, &attribute).is_some_and(|i| fields[i].stored()) {
        return err(
            lit.span(),
            format!(
                "the template key's attribute `{attribute}` is also a field; name it with `{role}_attribute`"
            ),
        );
    }
    Ok(KeySpec {
        attribute,
        fields: used,
        template: Some(pieces),
    })
}

/// `typed`: the table's own key, whose fields are key types (checked at compile time);
/// an index key's type is left to `describe` and the backend, since it may be any type
/// that serializes as a string or number (an enum, say).
fn key_def(fields: &[Field], spec: &KeySpec, typed: bool) -> TokenStream {
    let m = quote!(::portico_guest::data::model);
    let p = quote!(::portico_guest::data::model::__private);
    let attribute = &spec.attribute;
    match &spec.template {
        None => {
            let field = &fields[spec.fields[0]];
            let ty = field.option_of.as_ref().unwrap_or(&field.ty);
            let kind = if typed {
                quote!(::core::option::Option::Some(<#ty as #p::KeyValue>::KIND))
            } else {
                quote!(::core::option::Option::None)
            };
            quote!(#m::KeyDef { attribute: #attribute, kind: #kind, template: ::core::option::Option::None })
        }
        Some(pieces) => {
            let parts = pieces.iter().map(|piece| match piece {
                Piece::Text(t) => quote!(#m::Part::Text(#t)),
                Piece::Field(name) => {
                    let attribute = find_field(fields, name)
                        .map_or_else(|| name.clone(), |i| fields[i].attribute.clone());
                    quote!(#m::Part::Field(#attribute))
                }
            });
            quote!(#m::KeyDef { attribute: #attribute, kind: ::core::option::Option::Some(#m::KeyKind::S), template: ::core::option::Option::Some(&[#(#parts),*]) })
        }
    }
}
