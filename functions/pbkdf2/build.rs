//! Declares the workshop attendees' candidates in `src/attendees/` (see `registry::attendees`).

fn main() {
    registry::attendees::declare_modules();
}
