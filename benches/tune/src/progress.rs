//! A one-line progress bar on stderr: how many invocations are done, at which memory size, and the
//! last duration.

use std::io::Write;

use crate::report_line::Sample;

pub struct Progress {
    total: usize,
    done: usize,
}

impl Progress {
    pub fn new(total: usize) -> Self {
        Self { total, done: 0 }
    }

    pub fn tick(&mut self, memory_mb: u32, sample: &Sample) {
        self.done += 1;
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{}", line(self.done, self.total, memory_mb, sample));
        if self.done == self.total {
            let _ = writeln!(err);
        }
        let _ = err.flush();
    }
}

/// `[##########----------] 30/60  512 MB   40.2 ms`
pub fn line(done: usize, total: usize, memory_mb: u32, sample: &Sample) -> String {
    const WIDTH: usize = 30;
    let filled = (done * WIDTH)
        .checked_div(total)
        .unwrap_or(WIDTH)
        .min(WIDTH);
    format!(
        "[{}{}] {done:>4}/{total}  {memory_mb:>5} MB  {:>9.1} ms{}",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled),
        sample.duration_ms,
        if sample.is_cold() {
            " (cold)"
        } else {
            "       "
        }
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
    fn the_bar_fills_in_proportion_and_marks_cold_starts() {
        assert_eq!(
            line(30, 60, 512, &sample(None)),
            "[###############---------------]   30/60    512 MB       40.2 ms       "
        );
        assert!(
            line(60, 60, 512, &sample(Some(3.0))).starts_with(&format!("[{}]", "#".repeat(30)))
        );
        assert!(line(1, 60, 512, &sample(Some(3.0))).ends_with(" (cold)"));
        assert!(line(1, 0, 512, &sample(None)).starts_with("[###"));
    }
}
