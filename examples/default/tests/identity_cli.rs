//! The service binary's identity commands: `keys generate` and `migrations export`.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_example-default");

fn command() -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("DATABASE_URL").env("RASURA_LOG", "off");
    c
}

#[test]
fn keys_generate_prints_a_private_jwk_the_service_accepts() {
    for alg in ["EdDSA", "ES256", "HS256"] {
        let out = command()
            .args(["keys", "generate", "--alg", alg, "--kid", "k-1"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let jwk: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(jwk["kid"], "k-1");
        assert_eq!(jwk["alg"], alg);
        let keys = serde_json::json!({ "keys": [jwk] }).to_string();
        assert!(rasura::auth::SigningKeys::from_json(&keys, None).is_ok());
    }
    let out = command()
        .args(["keys", "generate", "--alg", "none", "--kid", "k"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected EdDSA, ES256, RS256 or HS256"));
}

#[test]
fn migrations_export_writes_hasura_cli_migrations() {
    let dir = std::env::temp_dir().join(format!("rasura-mig-cli-{}", std::process::id()));
    let out = command()
        .args(["migrations", "export", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let up = std::fs::read_to_string(dir.join("1764547200001_rasura_auth/up.sql")).unwrap();
    assert!(up.contains("rasura_auth.role_mapping"));
    assert!(dir.join("1764547200001_rasura_auth/down.sql").exists());
    std::fs::remove_dir_all(dir).unwrap();
}
