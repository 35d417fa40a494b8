//! `espcheck.toml`: project and user defaults. Precedence, as in espflash: flags, then environment
//! (`ESPCHECK_PORT`, `ESPCHECK_BAUD`), then the project file (found by searching upwards from the
//! working directory), then the user file (`$XDG_CONFIG_HOME/espcheck/espcheck.toml`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// The file name searched for.
pub const FILE_NAME: &str = "espcheck.toml";

/// Every setting a config file may hold. Unknown keys are an error, so a typo is not silently
/// ignored.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Default serial port.
    pub port: Option<PathBuf>,
    /// Flashing baud rate.
    pub baud: Option<u32>,
    /// Monitor baud rate.
    pub monitor_baud: Option<u32>,
    /// `esp8266` or `esp32`.
    pub chip: Option<crate::rom::chip::Chip>,
    /// Hosts to pin with `gen-cert-header` when none are given.
    pub hosts: Option<Vec<String>>,
    /// Where `gen-cert-header` writes when `--out` is not given.
    pub header_out: Option<PathBuf>,
    /// `check --warn-days` default.
    pub warn_days: Option<u32>,
    /// Grading: a rules file, relative to the config file.
    pub rules: Option<PathBuf>,
    /// Grading: extra PASS patterns.
    #[serde(default)]
    pub pass: Vec<String>,
    /// Grading: extra FAIL patterns.
    #[serde(default)]
    pub fail: Vec<String>,
}

impl Config {
    /// Fill every unset field of `self` from `lower`.
    pub fn or(self, lower: Config) -> Config {
        Config {
            port: self.port.or(lower.port),
            baud: self.baud.or(lower.baud),
            monitor_baud: self.monitor_baud.or(lower.monitor_baud),
            chip: self.chip.or(lower.chip),
            hosts: self.hosts.or(lower.hosts),
            header_out: self.header_out.or(lower.header_out),
            warn_days: self.warn_days.or(lower.warn_days),
            rules: self.rules.or(lower.rules),
            pass: if self.pass.is_empty() {
                lower.pass
            } else {
                self.pass
            },
            fail: if self.fail.is_empty() {
                lower.fail
            } else {
                self.fail
            },
        }
    }

    /// Parse one file's text. `name` is used in errors, with the line of the fault.
    pub fn parse(text: &str, name: &str) -> Result<Config> {
        toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| {
                text.as_bytes()[..s.start.min(text.len())]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count()
                    + 1
            });
            let message = e
                .message()
                .lines()
                .next()
                .unwrap_or("invalid TOML")
                .to_owned();
            match line {
                Some(l) => Error::input(name, format!("line {l}: {message}")),
                None => Error::input(name, message),
            }
        })
    }

    /// Read a file; relative paths inside it are taken relative to its directory.
    pub fn read(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::file(path, &e))?;
        let mut cfg = Config::parse(&text, &path.display().to_string())?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [&mut cfg.rules, &mut cfg.header_out].into_iter().flatten() {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(cfg)
    }

    /// Settings from the environment.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Config> {
        let baud =
            match get("ESPCHECK_BAUD") {
                Some(v) => Some(v.trim().parse::<u32>().map_err(|_| {
                    Error::Usage(format!("ESPCHECK_BAUD `{v}` is not a baud rate"))
                })?),
                None => None,
            };
        Ok(Config {
            port: get("ESPCHECK_PORT").map(PathBuf::from),
            baud,
            ..Config::default()
        })
    }
}

/// The project file: `espcheck.toml` in `start` or the nearest parent that has one.
pub fn find_project_file(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|p| p.is_file())
}

/// The user file, if the platform has a config directory.
pub fn user_file(get: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = get("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| get("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("espcheck").join(FILE_NAME))
}

/// Everything below the flags: environment, then project file, then user file.
pub fn load(cwd: &Path, get: impl Fn(&str) -> Option<String>) -> Result<Config> {
    let env = Config::from_env(&get)?;
    let project = match find_project_file(cwd) {
        Some(p) => Config::read(&p)?,
        None => Config::default(),
    };
    let user = match user_file(&get).filter(|p| p.is_file()) {
        Some(p) => Config::read(&p)?,
        None => Config::default(),
    };
    Ok(env.or(project).or(user))
}

/// `load` for the running process.
pub fn load_for_process() -> Result<Config> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    load(&cwd, |k| std::env::var(k).ok())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn precedence_env_then_project_then_user() {
        let root = tempfile::tempdir().unwrap();
        let project = root.path().join("proj");
        let deep = project.join("src/sub");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(
            project.join(FILE_NAME),
            "port = \"/dev/ttyUSB1\"\nbaud = 460800\nrules = \"grade.toml\"\n",
        )
        .unwrap();
        let user_dir = root.path().join("xdg/espcheck");
        std::fs::create_dir_all(&user_dir).unwrap();
        std::fs::write(
            user_dir.join(FILE_NAME),
            "baud = 115200\nwarn-days = 14\nchip = \"esp32\"\n",
        )
        .unwrap();
        let mut env: HashMap<String, String> = HashMap::new();
        env.insert(
            "XDG_CONFIG_HOME".into(),
            root.path().join("xdg").display().to_string(),
        );
        fn get(env: &HashMap<String, String>) -> impl Fn(&str) -> Option<String> + '_ {
            move |k| env.get(k).cloned()
        }
        let cfg = load(&deep, get(&env)).unwrap();
        assert_eq!(
            cfg.port,
            Some(PathBuf::from("/dev/ttyUSB1")),
            "project file found upwards"
        );
        assert_eq!(cfg.baud, Some(460_800), "project beats user");
        assert_eq!(cfg.warn_days, Some(14), "user fills the rest");
        assert_eq!(cfg.chip, Some(crate::rom::chip::Chip::Esp32));
        assert_eq!(
            cfg.rules,
            Some(project.join("grade.toml")),
            "relative to the file"
        );
        env.insert("ESPCHECK_PORT".into(), "/dev/ttyACM0".to_owned());
        env.insert("ESPCHECK_BAUD".into(), "921600".to_owned());
        let cfg = load(&deep, get(&env)).unwrap();
        assert_eq!(
            cfg.port,
            Some(PathBuf::from("/dev/ttyACM0")),
            "environment beats files"
        );
        assert_eq!(cfg.baud, Some(921_600));
    }

    #[test]
    fn bad_config_names_file_and_line() {
        let err =
            Config::parse("port = \"/dev/x\"\nbaud = \"fast\"\n", "espcheck.toml").unwrap_err();
        assert!(
            err.to_string().starts_with("espcheck.toml: line 2: "),
            "{err}"
        );
        let err = Config::parse("\n\nprot = 1\n", "espcheck.toml").unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
        assert!(err.to_string().contains("unknown field"), "{err}");
    }
}
