//! How a module was compiled, for the report: a cargo profile read from the manifest that defines
//! it (scripts/bench names it with `--profile NAME=MANIFEST:PROFILE`), so that the report states
//! the settings that built the modules rather than a copy of them typed by hand.
//!
//! Only what the report needs of TOML: the `key = value` lines of a `[profile.NAME]` table, and
//! `inherits`, resolved down to cargo's built-in `release` or `dev` profile, whose defaults fill
//! the settings the tables leave out.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// The settings the report names, in its order.
const KEYS: [&str; 6] = ["opt-level", "lto", "codegen-units", "panic", "debug", "strip"];

/// A profile's settings after `inherits`.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// The profile's name (`release`, `wasm`, `size`).
    pub name: String,
    /// The manifest that defines it, relative to the repository when it is inside it.
    pub manifest: PathBuf,
    /// `(key, value as written, whether it is cargo's default rather than a table's)`, in
    /// [`KEYS`]' order.
    pub settings: Vec<(&'static str, String, bool)>,
}

/// Cargo's built-in profiles' values of [`KEYS`] (the Cargo book, "Profiles": strip is "none" in
/// both but for release builds without debug info, where it is "debuginfo").
fn builtin(name: &str) -> Option<[&'static str; 6]> {
    match name {
        "release" => Some(["3", "false", "16", "\"unwind\"", "false", "\"debuginfo\""]),
        "dev" => Some(["0", "false", "256", "\"unwind\"", "true", "\"none\""]),
        _ => None,
    }
}

impl Profile {
    /// Reads profile `name` from the manifest at `manifest`; `repo` shortens the path shown.
    pub fn read(manifest: &Path, name: &str, repo: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(manifest).with_context(|| format!("read {}", manifest.display()))?;
        let settings = resolve(&text, name).with_context(|| format!("profile `{name}` of {}", manifest.display()))?;
        let shown = manifest
            .canonicalize()
            .ok()
            .and_then(|m| {
                let repo = repo.canonicalize().ok()?;
                m.strip_prefix(repo).ok().map(Path::to_path_buf)
            })
            .unwrap_or_else(|| manifest.to_path_buf());
        Ok(Profile { name: name.to_string(), manifest: shown, settings })
    }

    /// The value of `key` as the manifest writes it (`3`, `"s"`, `true`).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.settings.iter().find(|(k, _, _)| *k == key).map(|(_, v, _)| v.as_str())
    }

    /// `opt-level 3`, `opt-level "s"`: the setting that tells the builds apart.
    pub fn opt_level(&self) -> String {
        format!("opt-level {}", self.get("opt-level").unwrap_or("?"))
    }

    /// `O3`, `Os`, `Oz`: the short form of the opt-level, for labels.
    pub fn short_opt(&self) -> String {
        format!("O{}", self.get("opt-level").unwrap_or("?").trim_matches('"'))
    }

    /// `profile `release` of host-tests/bench/peers/Cargo.toml: opt-level = 3, lto = true, ...`,
    /// cargo's defaults marked as such.
    pub fn describe(&self) -> String {
        let settings: Vec<String> = self
            .settings
            .iter()
            .map(|(k, v, default)| match default {
                true => format!("{k} = {v} (cargo's default)"),
                false => format!("{k} = {v}"),
            })
            .collect();
        format!("profile `{}` of `{}`: {}", self.name, self.manifest.display(), settings.join(", "))
    }
}

/// The `key = value` lines of the table `[header]`, comments and blank lines dropped.
fn table<'a>(text: &'a str, header: &str) -> Option<Vec<(&'a str, &'a str)>> {
    let mut lines = text.lines().map(str::trim);
    lines.find(|l| strip_comment(l) == format!("[{header}]"))?;
    Some(
        lines
            .map(strip_comment)
            .take_while(|l| !l.starts_with('['))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect(),
    )
}

/// A line without its `#` comment (none of the values read here contain a `#`).
fn strip_comment(line: &str) -> &str {
    line.split_once('#').map_or(line, |(l, _)| l).trim()
}

/// The settings of profile `name` in the manifest `text`, after `inherits`.
fn resolve(text: &str, name: &str) -> Result<Vec<(&'static str, String, bool)>> {
    let mut chain = Vec::new();
    let mut at = name.to_string();
    let base = loop {
        if chain.len() > 8 {
            bail!("`inherits` goes round in circles");
        }
        let t = table(text, &format!("profile.{at}"));
        if t.is_none() && builtin(&at).is_none() {
            bail!("no [profile.{at}] table");
        }
        let t = t.unwrap_or_default();
        let parent = t.iter().find(|(k, _)| *k == "inherits").map(|(_, v)| v.trim_matches('"').to_string());
        chain.push(t);
        match (builtin(&at), parent) {
            (Some(b), None) => break b,
            (_, Some(p)) => at = p,
            (None, None) => bail!("[profile.{at}] inherits nothing (a custom profile must)"),
        }
    };
    Ok(KEYS
        .iter()
        .zip(base)
        .map(|(&key, default)| {
            // The nearest table that sets the key wins (the profile itself first).
            match chain.iter().find_map(|t| t.iter().find(|(k, _)| *k == key)) {
                Some((_, v)) => (key, v.to_string(), false),
                None => (key, default.to_string(), true),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
[workspace]
members = ["a"]

[profile.release]
opt-level = 3
lto = true # one unit
codegen-units = 1
panic = "abort"

# the size build
[profile.size]
inherits = "release"
opt-level = "z"

[profile.release.package.recorder]
opt-level = "s"
"#;

    fn value(s: &[(&str, String, bool)], key: &str) -> (String, bool) {
        let (_, v, d) = s.iter().find(|(k, _, _)| *k == key).unwrap();
        (v.clone(), *d)
    }

    #[test]
    fn release_keeps_its_table_and_cargo_fills_the_rest() {
        let s = resolve(MANIFEST, "release").unwrap();
        assert_eq!(value(&s, "opt-level"), ("3".into(), false));
        assert_eq!(value(&s, "lto"), ("true".into(), false));
        assert_eq!(value(&s, "panic"), ("\"abort\"".into(), false));
        assert_eq!(value(&s, "debug"), ("false".into(), true));
        assert_eq!(s.len(), KEYS.len());
    }

    #[test]
    fn a_custom_profile_inherits_and_overrides() {
        let s = resolve(MANIFEST, "size").unwrap();
        assert_eq!(value(&s, "opt-level"), ("\"z\"".into(), false));
        assert_eq!(value(&s, "codegen-units"), ("1".into(), false));
        assert_eq!(value(&s, "strip"), ("\"debuginfo\"".into(), true));
    }

    #[test]
    fn unknown_profiles_are_refused() {
        assert!(resolve(MANIFEST, "nope").is_err());
        assert_eq!(resolve("", "release").unwrap()[0], ("opt-level", "3".into(), true));
    }

    #[test]
    fn the_real_manifests_resolve() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let peers = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/Cargo.toml");
        let release = Profile::read(&peers, "release", &repo).unwrap();
        assert_eq!(release.short_opt(), "O3");
        assert_eq!(release.manifest, Path::new("host-tests/bench/peers/Cargo.toml"));
        let size = Profile::read(&peers, "size", &repo).unwrap();
        assert_eq!(size.get("opt-level"), Some("\"z\""));
        let shipped = Profile::read(&repo.join("Cargo.toml"), "wasm", &repo).unwrap();
        assert_eq!(shipped.get("opt-level"), Some("\"s\""));
    }
}
