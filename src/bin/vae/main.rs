//! `vae`: train the shipped weights, evaluate them and render the report's figures.

mod args;
mod atomic;
mod bench;
mod commands;
mod figures;

use anyhow::Result;
use clap::Parser;

use args::{Cli, Command};

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Info(a) => commands::info(a),
        Command::Data(a) => commands::build_data(a),
        Command::Train(a) => commands::train(a),
        Command::Eval(a) => commands::eval(a),
        Command::Sample(a) => commands::sample(a),
        Command::Reconstruct(a) => commands::reconstruct(a),
        Command::Chain(a) => commands::chain(a),
        Command::Collapse(a) => commands::collapse(a),
        Command::Report(a) => figures::report(&a.weights_dir, a.data.as_deref(), &a.out, a.seed),
        Command::Bench(a) => bench::bench(a),
    }
}
