//! PBKDF2-HMAC-SHA256: the `pbkdf2`-crate control against the hand-tuned candidate, and both against
//! the floor of 2 × N bare SHA-256 compressions that any implementation must do.
//!
//! Run with `./build.sh bench --bench pbkdf2` (or `cargo bench -p benches --bench pbkdf2`). After
//! criterion's report a summary line per iteration count gives the candidate/control ratio (target:
//! at most 0.85) and each one's distance from the floor, measured in the same run with a plain timed
//! loop.

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

/// How long one call takes.
fn timed<T>(f: impl FnOnce() -> T) -> Duration {
    let started = Instant::now();
    black_box(f());
    started.elapsed()
}

/// The candidate may take at most this share of the control's time.
const TARGET_RATIO: f64 = 0.85;

fn print_summary() {
    const RUNS: usize = 9;
    println!(
        "\nsummary (fastest of {RUNS} timed runs each; control, candidate and floor take turns, \
         so a busy spell on the machine slows all three):"
    );
    for iterations in ITERATION_COUNTS {
        let input = derivation(iterations);
        let (mut control, mut fast, mut floor_time) = (Duration::MAX, Duration::MAX, Duration::MAX);
        for _ in 0..RUNS {
            control = control.min(timed(|| domain::derive_control(&input)));
            fast = fast.min(timed(|| domain::derive_fast(&input)));
            floor_time = floor_time.min(timed(|| floor(iterations)));
        }
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let ratio = fast.as_secs_f64() / control.as_secs_f64();
        let verdict = if ratio <= TARGET_RATIO {
            "met"
        } else {
            "NOT met"
        };
        println!(
            "pbkdf2 iterations={iterations}: control {:.3} ms, candidate-fast {:.3} ms, \
             floor {:.3} ms | candidate/control {ratio:.3} (target <= {TARGET_RATIO}: {verdict}) \
             | control/floor {:.3} | candidate/floor {:.3}",
            ms(control),
            ms(fast),
            ms(floor_time),
            control.as_secs_f64() / floor_time.as_secs_f64(),
            fast.as_secs_f64() / floor_time.as_secs_f64(),
        );
    }
}

criterion_group!(benches, bench_pbkdf2);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    print_summary();
}
