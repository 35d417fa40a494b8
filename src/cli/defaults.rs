//! Apply `espcheck.toml` and the `ESPCHECK_*` environment to a parsed command line: a value the user
//! typed always wins; the configuration only replaces clap's built-in defaults.

use clap::ArgMatches;
use clap::parser::ValueSource;

use super::{Cli, Command, grade::GradeArgs};
use crate::config::Config;
use crate::error::Result;

fn defaulted(m: &ArgMatches, id: &str) -> bool {
    !matches!(
        m.value_source(id),
        Some(ValueSource::CommandLine) | Some(ValueSource::EnvVariable)
    )
}

fn grade(g: &mut GradeArgs, cfg: &Config) {
    if g.rules.is_none() {
        g.rules.clone_from(&cfg.rules);
    }
    if g.pass.is_empty() {
        g.pass.clone_from(&cfg.pass);
    }
    if g.fail.is_empty() {
        g.fail.clone_from(&cfg.fail);
    }
}

/// Fill what the user did not give from `cfg`.
pub fn apply(cli: &mut Cli, matches: &ArgMatches, cfg: &Config) -> Result<()> {
    let Some((_, m)) = matches.subcommand() else {
        return Ok(());
    };
    match &mut cli.command {
        Command::Watch(a) => {
            a.port = a.port.take().or_else(|| cfg.port.clone());
            if defaulted(m, "baud") {
                a.baud = cfg.monitor_baud.unwrap_or(a.baud);
            }
            grade(&mut a.grade, cfg);
        }
        Command::FlashAndWatch(a) => {
            a.port = a.port.take().or_else(|| cfg.port.clone());
            if defaulted(m, "baud") {
                a.baud = cfg.baud.unwrap_or(a.baud);
            }
            if defaulted(m, "monitor_baud") {
                a.monitor_baud = cfg.monitor_baud.unwrap_or(a.monitor_baud);
            }
            a.chip = a.chip.or(cfg.chip);
            grade(&mut a.grade, cfg);
        }
        Command::Grade(a) => grade(&mut a.grade, cfg),
        Command::GenCertHeader(a) => {
            if a.targets.is_empty() && a.from.is_empty() {
                a.targets = cfg.hosts.clone().unwrap_or_default();
            }
            if a.out.is_none() {
                a.out.clone_from(&cfg.header_out);
            }
        }
        Command::Check(a) if defaulted(m, "warn_days") => {
            a.warn_days = cfg.warn_days.map_or(a.warn_days, i64::from);
        }
        Command::Demo(a) => {
            if defaulted(m, "chip")
                && let Some(c) = cfg.chip
            {
                a.chip = c;
            }
        }
        Command::Sim(sim) => {
            let Some((_, mm)) = m.subcommand() else {
                return Ok(());
            };
            let c = cfg.chip;
            match sim {
                super::sim::Command::Device(d) if defaulted(mm, "chip") => {
                    d.chip = c.unwrap_or(d.chip)
                }
                super::sim::Command::Image(i) if defaulted(mm, "chip") => {
                    i.chip = c.unwrap_or(i.chip)
                }
                _ => {}
            }
        }
        _ => {}
    }
    Ok(())
}
