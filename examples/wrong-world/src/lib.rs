//! A wasm32-wasip2 component that exports no `portico:edge/handler`: the host must refuse
//! it at load time, naming what is missing.

/// An ordinary exported C function; a component, but not a Portico function.
#[unsafe(no_mangle)]
pub extern "C" fn answer() -> i32 {
    42
}
