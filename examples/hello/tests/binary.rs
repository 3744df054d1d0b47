//! The lib + bin layout of the README works: the binary serves the library's handlers.

#[test]
fn the_binary_links_the_librarys_handlers() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hello")).arg("routes").output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    for route in ["/actions/greet", "/events/user_changed", "/crons/morning_report"] {
        assert!(table.contains(route), "{route} missing from:\n{table}");
    }
}
