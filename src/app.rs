//! Wiring: source -> decode -> filter -> analyses -> render, one function per command.

use crate::cli::{Cli, Command};

/// Runs a command; `Ok(true)` when everything went well, `Ok(false)` when the run
/// finished but some frames or files had problems (exit status 2).
pub fn run(cli: Cli) -> anyhow::Result<bool> {
    match cli.command {
        Command::Read(_) | Command::Show(_) | Command::Stats(_) => anyhow::bail!("not yet"),
    }
}
