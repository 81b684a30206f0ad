//! The `portico` command. See `portico --help`.

#[allow(unsafe_code, reason = "std::env::set_var; see the SAFETY comment")]
fn main() -> std::process::ExitCode {
    // wasmtime builds an error value every time a `Store` is dropped (one per request),
    // and with RUST_BACKTRACE set, each capture walks the stack: measured at ~15% of the
    // CPU of a `GET /hello` load. RUST_LIB_BACKTRACE governs only such captured
    // backtraces (panics still honour RUST_BACKTRACE), so switch it off unless the user
    // chose a value.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: first statement of `main`, before any thread exists, so nothing can
        // read the environment concurrently.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
    portico::cli::main()
}
