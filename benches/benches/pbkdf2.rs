//! PBKDF2-HMAC-SHA256: the `pbkdf2`-crate control against the hand-tuned candidate, and both against
//! the floor of 2 × N bare SHA-256 compressions that any implementation must do.
//!
//! Run with `cargo bench -p benches --bench pbkdf2`. After criterion's report a summary line per
//! iteration count gives the candidate/control ratio (target: at most 0.85) and each one's distance
//! from the floor, measured in the same run with a plain timed loop.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group};
use pbkdf2_fn::domain::{self, Derivation, Iterations, KeyLength, Secret};
use sha2::block_api::compress256;

const ITERATION_COUNTS: [u32; 2] = [10_000, 100_000];

fn derivation(iterations: u32) -> Derivation {
    Derivation {
        password: Secret::new(*b"correct horse battery staple"),
        salt: Secret::new(*b"NaCl-and-pepper"),
        iterations: Iterations::parse(u64::from(iterations), u32::MAX)
            .expect("bench iteration counts are valid"),
        key_length: KeyLength::parse(32).expect("32 is a valid key length"),
    }
}

/// The cost no implementation can avoid: two compressions per iteration.
fn floor(iterations: u32) -> [u32; 8] {
    let mut state = [0x6a09_e667_u32; 8];
    let block = [0x5c_u8; 64];
    for _ in 0..2 * iterations {
        compress256(&mut state, std::slice::from_ref(black_box(&block)));
    }
    state
}

fn bench_pbkdf2(c: &mut Criterion) {
    for iterations in ITERATION_COUNTS {
        let input = derivation(iterations);
        let mut group = c.benchmark_group(format!("pbkdf2/{iterations}"));
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(2));
        group.bench_function(BenchmarkId::from_parameter("control"), |b| {
            b.iter(|| domain::derive_control(black_box(&input)))
        });
        group.bench_function(BenchmarkId::from_parameter("candidate-fast"), |b| {
            b.iter(|| domain::derive_fast(black_box(&input)))
        });
        group.bench_function(BenchmarkId::from_parameter("floor-2n-compress256"), |b| {
            b.iter(|| floor(black_box(iterations)))
        });
        group.finish();
    }
}

/// The fastest of a few runs: the least disturbed by the rest of the machine.
fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    (0..runs)
        .map(|_| {
            let started = Instant::now();
            black_box(f());
            started.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn print_summary() {
    const RUNS: usize = 7;
    println!("\nsummary (best of {RUNS} timed runs each, same process):");
    for iterations in ITERATION_COUNTS {
        let input = derivation(iterations);
        let control = best_of(RUNS, || domain::derive_control(&input));
        let fast = best_of(RUNS, || domain::derive_fast(&input));
        let floor = best_of(RUNS, || floor(iterations));
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "pbkdf2 iterations={iterations}: control {:.3} ms, candidate-fast {:.3} ms, \
             floor {:.3} ms | candidate/control {:.3} | control/floor {:.3} | candidate/floor {:.3}",
            ms(control),
            ms(fast),
            ms(floor),
            fast.as_secs_f64() / control.as_secs_f64(),
            control.as_secs_f64() / floor.as_secs_f64(),
            fast.as_secs_f64() / floor.as_secs_f64(),
        );
    }
}

criterion_group!(benches, bench_pbkdf2);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    print_summary();
}
