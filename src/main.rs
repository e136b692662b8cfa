//! The `algolab` binary: parse the command line, run one library call, map errors to exit
//! codes (0 ok, 2 bad usage or input, 1 other failures). All logic lives in the library.

use clap::Parser;

fn main() {
    let cli = algolab::cli::Cli::parse();
    if let Err(err) = algolab::cli::run(cli) {
        eprintln!("error: {}", algolab::cli::one_line(&err));
        std::process::exit(algolab::cli::exit_code(&err));
    }
}
