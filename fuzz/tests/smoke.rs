//! Every fuzz target, briefly, on stable: its seeds in `seeds/<target>/`, then mutations
//! of them (byte flips, cuts, copies, splices and tokens of the inputs' languages) for
//! [`BUDGET`] or [`MUTATIONS`] inputs, whichever ends first.
//!
//! This is the CI run of the targets, not a fuzzer: it has no coverage feedback. The
//! long runs are `scripts/fuzz.sh` under libFuzzer. The mutations are random but
//! repeatable: the seed is printed, and `PORTICO_FUZZ_SEED=<n>` runs the same inputs. An
//! input that fails is written to the target directory's tmp dir and named in the
//! failure.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const BUDGET: Duration = Duration::from_secs(3);
const MUTATIONS: usize = 20_000;

/// Pieces of the targets' languages, so mutations reach past the first syntax error.
const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"{proxy+}",
    b"/",
    b"//",
    b"%2F",
    b"%",
    b" ",
    b"\n",
    b"\"",
    b"\\",
    b"=",
    b"[",
    b"]",
    b"[[",
    b",",
    b":",
    b"#a",
    b":n",
    b":l",
    b".",
    b"(",
    b")",
    b"AND",
    b"OR",
    b"NOT",
    b"SET ",
    b"REMOVE ",
    b"ADD ",
    b"DELETE ",
    b"BETWEEN",
    b"IN",
    b"size(",
    b"attribute_exists(",
    b"begins_with(",
    b"list_append(",
    b"if_not_exists(",
    b"GET ",
    b"ANY ",
    b"$default",
    b"null",
    b"true",
    b"1e400",
    b"-0",
    b"\"2.0\"",
    b"\"rawPath\"",
    b"\"headers\"",
    b"\"body\"",
    b"\"isBase64Encoded\":true",
    b"[functions.f]",
    b"[routes]",
    b"[server]",
    b"timeout = ",
    b"memory = ",
    b"\"99999999999999999999GiB\"",
    b"--portico-fuzz\r\n",
    b"\r\n\r\n",
    b"Content-Disposition: form-data; name=\"config\"",
    b"\xff",
    b"\xc3",
    b"\0",
];

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    files.sort();
    let seeds: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display())))
        .collect();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

fn mutate(rng: &mut fastrand::Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut input = seeds[rng.usize(..seeds.len())].clone();
    for _ in 0..rng.usize(1..=4) {
        let at = rng.usize(..=input.len());
        match rng.u8(..6) {
            0 if !input.is_empty() => {
                let i = rng.usize(..input.len());
                input[i] ^= 1 << rng.u8(..8);
            }
            1 => input.insert(at, rng.u8(..)),
            2 => {
                let end = (at + rng.usize(..16)).min(input.len());
                input.drain(at..end);
            }
            3 => {
                let end = (at + rng.usize(..32)).min(input.len());
                let copy = input[at..end].to_vec();
                let to = rng.usize(..=input.len());
                input.splice(to..to, copy);
            }
            4 => {
                let other = &seeds[rng.usize(..seeds.len())];
                let from = rng.usize(..=other.len());
                input.truncate(at);
                input.extend_from_slice(&other[from..]);
            }
            _ => {
                let token = TOKENS[rng.usize(..TOKENS.len())];
                input.splice(at..at, token.iter().copied());
            }
        }
    }
    input
}

fn run_one(target: &str, run: fn(&[u8]), input: &[u8]) {
    if catch_unwind(AssertUnwindSafe(|| run(input))).is_err() {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let file = dir.join(format!("fuzz-{target}-failure"));
        std::fs::write(&file, input).expect("write the failing input");
        panic!(
            "{target} failed on an input, saved to {} (replay it with `scripts/fuzz.sh {target} {}`)",
            file.display(),
            file.display()
        );
    }
}

#[test]
fn every_target_survives_its_seeds_and_their_mutations() {
    let seed = std::env::var("PORTICO_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("PORTICO_FUZZ_SEED={seed}");
    for (target, run) in portico_fuzz::TARGETS {
        let seeds = seeds(target);
        for input in &seeds {
            run_one(target, run, input);
        }
        let mut rng = fastrand::Rng::with_seed(seed);
        let started = Instant::now();
        let mut runs = 0;
        while runs < MUTATIONS && started.elapsed() < BUDGET {
            let input = mutate(&mut rng, &seeds);
            run_one(target, run, &input);
            runs += 1;
        }
        println!("{target}: {} seeds, {runs} mutations", seeds.len());
    }
}
