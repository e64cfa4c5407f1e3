//! The check before anything plays, like pytest's collection: every file is read, parsed, its keys
//! and their combinations checked and its `${…}` filled from its own lookup server (started and
//! stopped again, nothing played). A run plays only when no file has a problem; otherwise every bad
//! file is named, each problem as `file:line:column: message` (docs/scenarios.md#checked-before-anything-plays).

use std::path::PathBuf;

use crate::file::{Scenario, ScenarioError};
use crate::runner::Prepared;

/// A file that cannot be played, and why.
#[derive(Debug)]
pub struct BadFile {
    pub path: PathBuf,
    /// The scenario's `name`, when the file got as far as having one.
    pub name: Option<String>,
    /// At least one.
    pub problems: Vec<ScenarioError>,
}

/// The outcome of checking every file of a run.
#[derive(Debug, Default)]
pub struct Checked {
    /// The good files' scenarios, in order.
    pub scenarios: Vec<Scenario>,
    /// The bad files, in order.
    pub bad: Vec<BadFile>,
}

impl Checked {
    /// How many files were found.
    pub fn files(&self) -> usize {
        self.scenarios.len() + self.bad.len()
    }
}

/// Checks every `*.toml` file of `paths` (folders are read, sorted by name), all of them, before
/// any plays.
pub async fn check_all(paths: &[PathBuf]) -> Checked {
    let mut checked = Checked::default();
    for path in paths {
        let files = match Scenario::files(std::slice::from_ref(path)) {
            Ok(files) => files,
            Err(e) => {
                checked.bad.push(BadFile { path: path.clone(), name: None, problems: vec![e] });
                continue;
            }
        };
        for file in files {
            let scenario = match Scenario::load_checked(&file) {
                Ok(scenario) => scenario,
                Err(problems) => {
                    checked.bad.push(BadFile { path: file, name: None, problems: problems.0 });
                    continue;
                }
            };
            match Prepared::check(scenario.clone()).await {
                Ok(()) => checked.scenarios.push(scenario),
                Err(problems) => {
                    checked.bad.push(BadFile { path: file, name: Some(scenario.name), problems: problems.0 })
                }
            }
        }
    }
    checked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    const GOOD: &str =
        "name = \"good\"\n[connect]\naddress = \"${central}\"\nuser = \"test@instance1.com\"\npassword = \"secret\"\n";

    #[tokio::test]
    async fn every_bad_file_is_named_with_every_problem_and_its_line_and_column() {
        let dir = tempfile::tempdir().expect("temp");
        write(dir.path(), "a-good.toml", GOOD);
        write(dir.path(), "b-typo.toml", "name = \"typo\"\n[connect]\naddress = \"${central}\"\nuser_name = \"x\"\n");
        write(
            dir.path(),
            "c-placeholders.toml",
            "name = \"placeholders\"\n[connect]\naddress = \"${centrl}\"\napprove_redirect = [\"${origin:central}\", \"${origin:instances.nope}\"]\n[expect]\ninstance = \"${instances.instance2}\"\n",
        );
        write(
            dir.path(),
            "d-user-alone.toml",
            "name = \"user alone\"\n[connect]\naddress = \"${central}\"\nuser = \"test@instance2.com\"\n",
        );
        write(dir.path(), "e-env.toml", "name = \"env\"\n[connect]\naddress = \"${central}\"\nuser = \"u\"\npassword_env = \"HOMEPORT_TEST_NEVER_SET_4713\"\n");
        write(dir.path(), "notes.txt", "not a scenario");
        let checked = check_all(&[dir.path().to_owned()]).await;
        assert_eq!(checked.files(), 5, "every *.toml file, nothing else");
        assert_eq!(
            checked.scenarios.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["good"],
            "the good one is kept"
        );
        let lines: Vec<Vec<String>> =
            checked.bad.iter().map(|bad| bad.problems.iter().map(ToString::to_string).collect()).collect();
        let at = |file: &str| dir.path().join(file).display().to_string();
        assert_eq!(lines.len(), 4, "every bad file: {lines:?}");
        assert!(lines[0][0].starts_with(&format!("{}:4:1: unknown field `user_name`", at("b-typo.toml"))), "{lines:?}");
        assert_eq!(
            lines[1],
            [
                format!("{}:3:12: the lookup server provides no ${{centrl}}", at("c-placeholders.toml")),
                format!("{}:4:43: the lookup server provides no ${{instances.nope}}", at("c-placeholders.toml")),
            ],
            "each unknown placeholder at its own column, the known ones pass"
        );
        assert!(
            lines[2][0]
                .starts_with(&format!("{}:4:1: connect.user and a password go together", at("d-user-alone.toml"))),
            "{lines:?}"
        );
        assert!(
            lines[3][0].starts_with(&format!(
                "{}:5:1: the password is to come from $HOMEPORT_TEST_NEVER_SET_4713",
                at("e-env.toml")
            )),
            "{lines:?}"
        );
        assert_eq!(checked.bad[1].name.as_deref(), Some("placeholders"), "a file that parsed has its name");
        assert_eq!(checked.bad[0].name, None, "a file that did not parse has none");
    }

    #[tokio::test]
    async fn a_missing_file_is_a_problem_of_its_own() {
        let dir = tempfile::tempdir().expect("temp");
        let good = write(dir.path(), "good.toml", GOOD);
        let checked = check_all(&[dir.path().join("missing.toml"), good]).await;
        assert_eq!((checked.scenarios.len(), checked.bad.len()), (1, 1), "the missing one is bad, the other checked");
        assert!(checked.bad[0].problems[0].to_string().contains("missing.toml: "), "{:?}", checked.bad[0].problems);
    }
}
