//! The `portico-api` custom section: what a function declares of its routes (summaries,
//! request and response schemas) for the OpenAPI document, read without running it. The
//! format is written out in the `portico-api` crate (`guest-sdk/api`), which writes it;
//! the runtime only finds the bytes.

/// The section's name.
pub const SECTION: &str = "portico-api";
/// A larger section is ignored (a declaration of a few hundred routes is a few hundred KiB).
pub const MAX_BYTES: usize = 1 << 20;

/// Why a section was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SectionError {
    /// Over [`MAX_BYTES`].
    #[error("the `{SECTION}` section is {0} bytes, over the limit of {MAX_BYTES}")]
    TooLarge(usize),
    /// The module did not parse.
    #[error("the module does not parse: {0}")]
    Parse(String),
}

/// The bytes of the first `portico-api` section of `wasm` — of the component itself or of
/// a core module inside it (where a Rust guest's `#[link_section]` puts it) — if any.
pub fn read(wasm: &[u8]) -> Result<Option<Vec<u8>>, SectionError> {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| SectionError::Parse(e.to_string()))?;
        if let wasmparser::Payload::CustomSection(reader) = payload
            && reader.name() == SECTION
        {
            let data = reader.data();
            if data.len() > MAX_BYTES {
                return Err(SectionError::TooLarge(data.len()));
            }
            return Ok(Some(data.to_vec()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A core module with custom sections, by hand: the magic, the version, then each
    /// section as id 0, its size, the name's length and the name, the data.
    fn module(sections: &[(&str, &[u8])]) -> Vec<u8> {
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        for (name, data) in sections {
            let mut body = vec![u8::try_from(name.len()).expect("short")];
            body.extend_from_slice(name.as_bytes());
            body.extend_from_slice(data);
            wasm.push(0);
            // One LEB128 byte is enough for these small sections.
            wasm.push(u8::try_from(body.len()).expect("small"));
            wasm.extend(body);
        }
        wasm
    }

    #[test]
    fn the_section_is_found_among_others() {
        let wasm = module(&[("producers", b"x"), (SECTION, br#"{"portico_api":1}"#)]);
        assert_eq!(
            read(&wasm).expect("parses").as_deref(),
            Some(&br#"{"portico_api":1}"#[..])
        );
        assert_eq!(read(&module(&[("other", b"y")])).expect("parses"), None);
        assert!(read(b"not wasm").is_err());
    }
}
