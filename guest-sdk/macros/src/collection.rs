//! `#[derive(Collection)]`: an enum of models, one tuple variant each.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields};

pub fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let name = &input.ident;
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new(
            name.span(),
            "#[derive(Collection)] is for enums whose variants each hold one model: `enum E { A(A), B(B) }`",
        ));
    };
    let mut variants = Vec::new();
    for v in &data.variants {
        match &v.fields {
            Fields::Unnamed(f) if f.unnamed.len() == 1 => {
                variants.push((&v.ident, &f.unnamed[0].ty));
            }
            _ => {
                return Err(syn::Error::new(
                    v.ident.span(),
                    "each variant holds one model: `Customer(Customer)`",
                ));
            }
        }
    }
    let Some((_, first)) = variants.first() else {
        return Err(syn::Error::new(
            name.span(),
            "a collection needs at least one variant",
        ));
    };
    let m = quote!(::portico_guest::data::model);
    let entities = variants
        .iter()
        .map(|(_, ty)| quote!(#ty).to_string().replace(' ', ""))
        .collect::<Vec<_>>()
        .join(", ");
    let decodes = variants.iter().map(|(ident, ty)| {
        quote! {
            if <#ty as #m::Model>::SCHEMA.entity.is_some_and(|(_, e)| e == entity) {
                return ::core::option::Option::Some(
                    <#ty as #m::ModelExt>::from_item(item).map(#name::#ident),
                );
            }
        }
    });
    let checks = variants
        .iter()
        .map(|(_, ty)| quote!(#m::__private::same_table::<#first, #ty>()?;));
    Ok(quote! {
        impl #m::Collection for #name {
            const ENTITIES: &'static str = #entities;

            fn decode(
                entity: &str,
                item: ::portico_guest::data::Item,
            ) -> ::core::option::Option<::core::result::Result<Self, #m::Error>> {
                #(#decodes)*
                ::core::option::Option::None
            }

            fn check() -> ::core::result::Result<&'static str, #m::Error> {
                let attribute = #m::__private::same_table::<#first, #first>()?;
                #(#checks)*
                ::core::result::Result::Ok(attribute)
            }
        }
    })
}
