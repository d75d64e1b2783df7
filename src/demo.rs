//! The bundled demo run, embedded in the binary so `serve` works from any
//! directory, and materialised into a writable temporary copy so serving it
//! (which writes the reach cache) never dirties the checkout.

use std::io;
use std::path::Path;

/// The run id of the bundled demo run.
pub const DEMO_RUN_ID: &str = "20261203_124212_pyphen";

macro_rules! demo_file {
    ($path:literal) => {
        (
            $path,
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/demo/runs/20261203_124212_pyphen/",
                $path
            ))
            .as_slice(),
        )
    };
}

/// `(path inside the run directory, contents)` of every file of the demo run.
const DEMO_FILES: &[(&str, &[u8])] = &[
    demo_file!("data/corpus.db"),
    demo_file!("data/pyphen_syllables_annotated.json"),
    demo_file!("manifest.json"),
    demo_file!("meta/copyright-gzip.txt"),
    demo_file!("meta/copyright-sed.txt"),
    demo_file!("meta/license-Artistic.txt"),
    demo_file!("meta/license-BSD.txt"),
    demo_file!("meta/license-CC0-1.0.txt"),
    demo_file!("pyphen_normalization_meta.txt"),
    demo_file!("pyphen_syllables_canonicalised.txt"),
    demo_file!("pyphen_syllables_frequencies.json"),
    demo_file!("pyphen_syllables_raw.txt"),
    demo_file!("pyphen_syllables_unique.txt"),
    demo_file!("syllables/copyright-gzip.txt"),
    demo_file!("syllables/copyright-sed.txt"),
    demo_file!("syllables/license-Artistic.txt"),
    demo_file!("syllables/license-BSD.txt"),
    demo_file!("syllables/license-CC0-1.0.txt"),
];

/// Writes the demo run into `runs_dir/<DEMO_RUN_ID>/`.
pub fn materialise(runs_dir: &Path) -> io::Result<()> {
    let run_dir = runs_dir.join(DEMO_RUN_ID);
    for (relative, contents) in DEMO_FILES {
        let path = run_dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, contents)?;
    }
    Ok(())
}
