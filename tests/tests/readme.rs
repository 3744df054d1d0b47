//! The README's quick start is `examples/hello`, verbatim: copying it gives a crate that builds
//! and passes its test (the example is built and tested with the workspace).

use std::path::Path;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)).unwrap()
}

#[test]
fn the_quick_start_is_examples_hello() {
    let readme = read("README.md");
    let cargo = read("examples/hello/Cargo.toml").replace("../../runtime", "../rasura/runtime");
    for (name, text) in [
        ("Cargo.toml", cargo),
        ("src/lib.rs", read("examples/hello/src/lib.rs")),
        ("src/main.rs", read("examples/hello/src/main.rs")),
        ("tests/hello.rs", read("examples/hello/tests/hello.rs")),
    ] {
        assert!(
            readme.contains(&text),
            "the README's {name} differs from examples/hello/{name}"
        );
    }
}
