//! Replays the fuzz targets' committed corpus (`fuzz/corpus/<target>/regressions/`: seeds and
//! every input a fuzzer once found interesting or crashing) through the same entry points the
//! fuzz targets call, so a regression fails `cargo test` without a fuzzer.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
        .join("regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        run(&std::fs::read(&path).unwrap());
        n += 1;
    }
    assert!(n > 0, "no corpus in {}", dir.display());
}

#[test]
fn frame_parse_corpus() {
    replay("frame_parse", aic_core::fuzzing::frame_parse);
}

#[test]
fn reassembly_corpus() {
    replay("reassembly", aic_core::fuzzing::reassembly);
}

#[test]
fn feedback_corpus() {
    replay("feedback", aic_core::fuzzing::feedback);
}

#[test]
fn motion_syntax_corpus() {
    replay("motion_syntax", aic_core::fuzzing::motion_syntax);
}
