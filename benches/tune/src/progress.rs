//! The progress bar on stderr (indicatif): how many invocations are done, at which memory size, and
//! the last duration. indicatif draws it only when stderr is a terminal, so logs and pipes stay clean.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report_line::Sample;

/// `[###############---------------]   30/60    512 MB       40.2 ms`
const TEMPLATE: &str = "[{bar:30}] {pos:>4}/{len}  {msg}";

pub struct Progress(ProgressBar);

impl Progress {
    pub fn new(total: usize) -> Self {
        Self::drawn_on(total, ProgressDrawTarget::stderr())
    }

    fn drawn_on(total: usize, target: ProgressDrawTarget) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total as u64), target).with_style(style());
        Self(bar)
    }

    pub fn tick(&mut self, memory_mb: u32, sample: &Sample) {
        self.0.set_message(message(memory_mb, sample));
        self.0.inc(1);
        if self
            .0
            .length()
            .is_some_and(|total| self.0.position() >= total)
        {
            self.0.finish();
        }
    }
}

fn style() -> ProgressStyle {
    // The template is a constant, checked by a test; the fallback only keeps a typo from panicking.
    ProgressStyle::with_template(TEMPLATE)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("#-")
}

/// The part after the count: `  512 MB       40.2 ms` and ` (cold)` for a cold start.
pub fn message(memory_mb: u32, sample: &Sample) -> String {
    format!(
        "{memory_mb:>5} MB  {:>9.1} ms{}",
        sample.duration_ms,
        if sample.is_cold() { " (cold)" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(init_ms: Option<f64>) -> Sample {
        Sample {
            duration_ms: 40.25,
            billed_ms: 41,
            memory_mb: 512,
            max_memory_used_mb: None,
            init_ms,
        }
    }

    #[test]
    fn the_template_is_valid() {
        assert!(ProgressStyle::with_template(TEMPLATE).is_ok());
    }

    #[test]
    fn the_message_shows_size_and_duration_and_marks_cold_starts() {
        assert_eq!(message(512, &sample(None)), "  512 MB       40.2 ms");
        assert_eq!(
            message(128, &sample(Some(3.0))),
            "  128 MB       40.2 ms (cold)"
        );
    }

    #[test]
    fn each_tick_counts_one_invocation_and_the_last_one_finishes_the_bar() {
        let mut progress = Progress::drawn_on(2, ProgressDrawTarget::hidden());
        progress.tick(128, &sample(Some(3.0)));
        assert_eq!((progress.0.position(), progress.0.length()), (1, Some(2)));
        assert_eq!(progress.0.message(), "  128 MB       40.2 ms (cold)");
        assert!(!progress.0.is_finished());
        progress.tick(128, &sample(None));
        assert_eq!(progress.0.message(), "  128 MB       40.2 ms");
        assert!(progress.0.is_finished());
    }
}
