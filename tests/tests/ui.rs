//! Compile errors of the macros: each points at the offending token, says what is expected and
//! keeps the user's item (trybuild compares the whole compiler output).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/fail/*.rs");
    t.pass("ui/pass/*.rs");
}
