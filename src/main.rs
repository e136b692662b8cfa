//! The `algolab` binary: parse the command line, run one library call, map errors to exit
//! codes (0 ok, 2 bad usage or input, 1 other failures). All logic lives in the library.

use clap::Parser;

/// mimalloc instead of glibc's malloc: it keeps freed large blocks mapped for reuse instead of
/// trimming the heap and faulting the pages in again on the next column (multi-column
/// indicators and result vectors ran 2–4× slower under glibc's defaults; docs/DESIGN.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = algolab::cli::Cli::parse();
    if let Err(err) = algolab::cli::run(cli) {
        eprintln!("error: {}", algolab::cli::one_line(&err));
        std::process::exit(algolab::cli::exit_code(&err));
    }
}
