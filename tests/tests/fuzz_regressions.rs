//! Every committed fuzz input, replayed in the normal suite: the seeds (`fuzz/seeds/<target>/`)
//! and every input a fuzzing run found to crash (`fuzz/regressions/<target>/`, kept after the
//! fix). The harness is the fuzz crate's own library (`fuzz/src/lib.rs`), so a replay checks the
//! same invariants the fuzzer did: no panic, no 5xx for hostile input, refusals in Hasura's
//! format, no `Retry-After` on a permanent refusal, metadata exports that are atomic, complete
//! and leave what they do not own byte for byte.

#[allow(dead_code, unreachable_pub)]
#[path = "../../fuzz/src/lib.rs"]
mod harness;

use std::path::Path;

type Target = fn(&[u8]);

const TARGETS: &[(&str, Target)] = &[
    ("action_envelope", harness::action_envelope),
    ("event_envelope", harness::event_envelope),
    ("cron_envelope", harness::cron_envelope),
    ("jwt_decode", harness::jwt_decode),
    ("jwt_config", harness::jwt_config),
    ("schema_sdl", harness::schema_sdl),
    ("schema_introspection", harness::schema_introspection),
    ("operations", harness::operations),
    ("metadata_yaml", harness::metadata_yaml),
    ("metadata_sdl", harness::metadata_sdl),
];

fn inputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_seed_and_regression_input_keeps_the_invariants() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut replayed = 0;
    for (target, run) in TARGETS {
        let seeds = inputs(&fuzz.join("seeds").join(target));
        assert!(!seeds.is_empty(), "no seeds for {target}");
        for (name, data) in seeds
            .iter()
            .chain(inputs(&fuzz.join("regressions").join(target)).iter())
        {
            let outcome = std::panic::catch_unwind(|| run(data));
            assert!(outcome.is_ok(), "{target}/{name} broke an invariant");
            replayed += 1;
        }
    }
    assert!(replayed >= 20, "{replayed}");
}

#[test]
fn the_seeds_reach_the_handlers() {
    // A seed that is refused would leave the fuzzer far from the code it should explore.
    let seed = |target: &str, name: &str| {
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../fuzz/seeds")
                .join(target)
                .join(name),
        )
        .unwrap()
    };
    for (path, target, name, skip) in [
        ("/actions/fuzz_echo", "action_envelope", "by_route", 1),
        ("/actions", "action_envelope", "by_name", 1),
        ("/events/fuzz_item_changed", "event_envelope", "update", 0),
        ("/events/fuzz_item_changed", "event_envelope", "insert", 0),
        ("/crons/fuzz_tick", "cron_envelope", "cron", 1),
        ("/scheduled/fuzz_reminder", "cron_envelope", "scheduled", 1),
    ] {
        let data = seed(target, name);
        let answer = harness::post(path, &data[skip..]);
        assert_eq!(
            answer.status,
            200,
            "{target}/{name}: {}",
            String::from_utf8_lossy(&answer.body)
        );
    }
    let bad = seed("action_envelope", "bad_input");
    assert_eq!(harness::post("/actions/fuzz_echo", &bad[1..]).status, 400);
}

#[test]
fn the_invariants_catch_what_they_are_meant_to() {
    let answer = |status: u16, retry_after: Option<&str>, body: &str| harness::Answer {
        status,
        retry_after: retry_after.map(str::to_owned),
        body: body.as_bytes().to_vec(),
    };
    let refusal = r#"{"message": "no", "extensions": {"code": "parse-failed"}}"#;
    let broken = [
        (answer(500, None, refusal), false),
        (answer(503, Some("10"), refusal), true),
        (answer(400, None, "not json"), false),
        (answer(400, None, r#"{"message": "no"}"#), false),
        (answer(400, Some("10"), refusal), true),
    ];
    for (bad, delivery) in broken {
        let caught = std::panic::catch_unwind(|| harness::check(&bad, delivery));
        assert!(caught.is_err(), "{bad:?} passed the invariants");
    }
    harness::check(&answer(400, None, refusal), true);
    harness::check(&answer(200, None, "{}"), true);
}
