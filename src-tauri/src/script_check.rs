//! `--script FILE` checked before the window shows its first page, as `homeport run` checks before
//! it plays (docs/scenarios.md#checked-before-anything-plays): every key and combination, and every
//! `${…}` filled from the scenario's own lookup server (started and stopped again, nothing played).
//! A bad file is every problem as `file:line:column: message` on standard error, and exit 2
//! (docs/desktop.md#the-autopilot---script).

use std::path::Path;

use homeport_scenario::Scenario;

/// The scenario of `file`, checked; or each line to print (every problem the check found).
pub async fn check(file: &Path) -> Result<Scenario, Vec<String>> {
    let mut checked = homeport_scenario::check_all(&[file.to_owned()]).await;
    if !checked.bad.is_empty() {
        return Err(checked.bad.iter().flat_map(|bad| &bad.problems).map(ToString::to_string).collect());
    }
    match checked.scenarios.len() {
        1 => Ok(checked.scenarios.remove(0)),
        0 => Err(vec![format!("{}: no scenario file (*.toml) to play", file.display())]),
        n => Err(vec![format!("{}: --script plays one scenario file; this folder holds {n}", file.display())]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> std::path::PathBuf {
        let path = dir.join("script.toml");
        std::fs::write(&path, text).expect("write");
        path
    }

    #[tokio::test]
    async fn a_placeholder_the_lookup_server_lacks_and_a_typo_are_named_with_line_and_column() {
        let dir = tempfile::tempdir().expect("temp");
        let path = write(
            dir.path(),
            "name = \"bad\"\n[connect]\naddress = \"${centrall}\"\nuser = \"test@instance1.com\"\npassword = \"secret\"\n",
        );
        let problems = check(&path).await.expect_err("${centrall} is not in the lookup server's description");
        let file = path.display();
        assert!(problems.iter().any(|p| p.starts_with(&format!("{file}:3:"))), "placed at line 3: {problems:?}");
        assert!(problems.iter().any(|p| p.contains("centrall")), "the placeholder is named: {problems:?}");

        let typo = write(dir.path(), "name = \"typo\"\n[connect]\nadress = \"${central}\"\n");
        let problems = check(&typo).await.expect_err("an unknown key");
        assert!(problems.iter().any(|p| p.starts_with(&format!("{file}:3:1:"))), "{problems:?}");
    }

    #[tokio::test]
    async fn a_good_file_is_its_scenario() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/s0-instance2.toml");
        let scenario = check(&path).await.expect("the file is good");
        assert_eq!(scenario.path, path, "the file's scenario");
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
        let problems = check(&folder).await.expect_err("a folder of many files");
        assert!(problems[0].contains("plays one scenario file"), "{problems:?}");
    }
}
