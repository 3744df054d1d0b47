//! The test kit stays out of production builds: a crate that depends on `rasura` without the
//! `testing` feature cannot name `rasura::testing`, and with it can.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds a one-file crate depending on the runtime with `features`; returns the compiler's
/// success and output.
fn build(name: &str, features: &str, main: &str) -> (bool, String) {
    let root = workspace().canonicalize().unwrap();
    let dir = root.join("target").join("feature-check").join(name);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\nrasura-framework = {{ path = \"{}\", features = [{features}] }}\n\n[workspace]\n",
            root.join("runtime").display()
        ),
    )
    .unwrap();
    std::fs::write(dir.join("src/main.rs"), main).unwrap();
    // The workspace's lock file: the same versions, so its built dependencies are reused.
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let out = Command::new(env!("CARGO"))
        .args(["build", "--offline", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", root.join("target"))
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn rasura_testing_needs_the_testing_feature() {
    let main = "fn main() { let _ = rasura::testing::TEST_WEBHOOK_SECRET; }\n";
    let (ok, stderr) = build("without-testing", "", main);
    assert!(
        !ok,
        "rasura::testing must not be nameable without the feature"
    );
    assert!(stderr.contains("testing"), "{stderr}");
    let (ok, stderr) = build("with-testing", "\"testing\"", main);
    assert!(ok, "{stderr}");
}
