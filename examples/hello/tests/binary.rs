//! The lib + bin layout of the README works: the binary serves the library's handlers.

#[test]
fn the_binary_links_the_librarys_handlers() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hello")).arg("routes").output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    for route in ["/actions/greet", "/events/user_changed", "/crons/morning_report"] {
        assert!(table.contains(route), "{route} missing from:\n{table}");
    }
}

/// The README's first service, code-first, exports its metadata: the action from the derived
/// types, the event trigger and the cron trigger, as JSON and into a Hasura CLI directory.
#[test]
fn the_readme_service_exports_its_metadata() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hello"))
        .args(["metadata", "export"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let greet = &metadata["actions"][0];
    assert_eq!(greet["name"], "greet");
    assert_eq!(greet["definition"]["type"], "query");
    assert_eq!(greet["definition"]["output_type"], "GreetOutput");
    assert_eq!(greet["definition"]["arguments"], serde_json::json!([{"name": "name", "type": "String!"}]));
    assert_eq!(greet["permissions"], serde_json::json!([{"role": "user"}]));
    assert_eq!(metadata["custom_types"]["objects"][0]["name"], "GreetOutput");
    assert_eq!(metadata["event_triggers"][0]["trigger"]["name"], "user_changed");
    assert_eq!(metadata["cron_triggers"][0]["name"], "morning_report");

    let dir = std::env::temp_dir().join(format!("hello-metadata-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hello"))
        .args(["metadata", "export", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let sdl = std::fs::read_to_string(dir.join("actions.graphql")).unwrap();
    assert!(sdl.contains("type Query {\n  greet(\n    name: String!\n  ): GreetOutput\n}"), "{sdl}");
    assert!(sdl.contains("type GreetOutput {\n  greeting: String!\n}"), "{sdl}");
    assert!(dir.join("databases/default/tables/public_users.yaml").exists());
    assert!(std::fs::read_to_string(dir.join("cron_triggers.yaml")).unwrap().contains("morning_report"));
    let _ = std::fs::remove_dir_all(&dir);
}
