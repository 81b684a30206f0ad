//! The `portico` command. See `portico --help`.

fn main() -> std::process::ExitCode {
    portico::cli::main()
}
