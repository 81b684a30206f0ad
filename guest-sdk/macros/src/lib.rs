//! The derives of `portico-guest`'s models. Use them through
//! `portico_guest::data::model`, which documents what they read and generate.

mod attrs;
mod collection;
mod model;
mod template;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// `#[derive(Model)]`: a struct stored as items of a table. See
/// `portico_guest::data::model` for the attributes.
// `serde` too: a model reads serde's `rename`, `rename_all`, `skip`, `default` and
// `skip_serializing_if`, with or without serde's own derives on the struct.
#[proc_macro_derive(Model, attributes(model, serde))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    model::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// `#[derive(Collection)]`: an enum of models sharing a partition, read with one query.
#[proc_macro_derive(Collection, attributes(model))]
pub fn derive_collection(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    collection::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
