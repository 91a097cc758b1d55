//! The demo's output: event lines that scroll, and a small trending table. On a terminal the
//! table stays at the bottom and refreshes in place (erased with ANSI cursor movement before
//! each event line and redrawn after it); elsewhere it is printed as plain `[TREND]` lines.

use std::io::{self, Write};

use pump_stack::Token;

/// Rows the trending table shows.
pub const TABLE_ROWS: usize = 5;

/// Where the demo writes.
pub struct Screen<W: Write> {
    out: W,
    terminal: bool,
    table: Vec<String>,
    drawn: usize,
}

impl<W: Write> Screen<W> {
    /// A screen on `out`; `terminal` chooses in-place refreshing.
    pub fn new(out: W, terminal: bool) -> Screen<W> {
        Screen {
            out,
            terminal,
            table: Vec::new(),
            drawn: 0,
        }
    }

    /// Prints one event line (above the table on a terminal).
    pub fn event(&mut self, line: &str) -> io::Result<()> {
        self.erase()?;
        writeln!(self.out, "{line}")?;
        if self.terminal {
            self.draw()?;
        }
        self.out.flush()
    }

    /// Replaces the table: redrawn in place on a terminal, printed as lines elsewhere.
    pub fn table(&mut self, lines: Vec<String>) -> io::Result<()> {
        if self.terminal {
            self.erase()?;
            self.table = lines;
            self.draw()?;
        } else {
            for line in &lines {
                writeln!(self.out, "[TREND] {line}")?;
            }
        }
        self.out.flush()
    }

    /// The writer (for tests).
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Moves the cursor to the table's first line and clears to the end of the screen.
    fn erase(&mut self) -> io::Result<()> {
        if self.drawn > 0 {
            write!(self.out, "\x1b[{}F\x1b[J", self.drawn)?;
            self.drawn = 0;
        }
        Ok(())
    }

    fn draw(&mut self) -> io::Result<()> {
        for line in &self.table {
            writeln!(self.out, "{line}")?;
        }
        self.drawn = self.table.len();
        Ok(())
    }
}

/// The trending table's lines: a title, a header and up to [`TABLE_ROWS`] tokens, in the
/// order the server's `Token/trending` view sorts them (volume, descending).
pub fn trending_table(tokens: &[Token], held_back_note: Option<&str>) -> Vec<String> {
    let mut lines = vec![
        format!("── trending: top {TABLE_ROWS} tokens by volume (Token/trending) ──"),
        format!(
            "{:>2}  {:<14} {:>12} {:>12} {:>7}",
            "#", "token", "price (SOL)", "volume (SOL)", "trades"
        ),
    ];
    for (i, t) in tokens.iter().take(TABLE_ROWS).enumerate() {
        let name: String = t.name.as_deref().unwrap_or("?").chars().take(14).collect();
        lines.push(format!(
            "{:>2}  {:<14} {:>12} {:>12.2} {:>7}",
            i + 1,
            name,
            t.price_sol
                .map(|p| format!("{p:.9}"))
                .unwrap_or_else(|| "-".into()),
            t.volume_sol.unwrap_or(0) as f64 / 1e9,
            t.trade_count.unwrap_or(0)
        ));
    }
    if tokens.is_empty() {
        lines.push("    (no trades yet)".into());
    }
    if let Some(note) = held_back_note {
        lines.push(format!("    {note}"));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_a_terminal_the_table_is_erased_and_redrawn_around_events() {
        let mut screen = Screen::new(Vec::new(), true);
        screen
            .table(vec!["title".into(), "row 1".into(), "row 2".into()])
            .unwrap();
        screen.event("[NEW]   a launched").unwrap();
        screen.table(vec!["title".into(), "row 1".into()]).unwrap();
        let out = String::from_utf8(screen.into_inner()).unwrap();
        assert_eq!(
            out,
            "title\nrow 1\nrow 2\n\
             \x1b[3F\x1b[J[NEW]   a launched\ntitle\nrow 1\nrow 2\n\
             \x1b[3F\x1b[Jtitle\nrow 1\n"
        );
    }

    #[test]
    fn elsewhere_the_table_is_plain_lines() {
        let mut screen = Screen::new(Vec::new(), false);
        screen.table(vec!["title".into(), "row".into()]).unwrap();
        screen.event("[NEW]   a launched").unwrap();
        let out = String::from_utf8(screen.into_inner()).unwrap();
        assert_eq!(out, "[TREND] title\n[TREND] row\n[NEW]   a launched\n");
    }

    #[test]
    fn the_table_shows_the_top_tokens() {
        let t = Token {
            name: Some("Moon 1".into()),
            price_sol: Some(0.000_000_031),
            volume_sol: Some(12_300_000_000),
            trade_count: Some(45),
            ..Token::default()
        };
        let lines = trending_table(&vec![t; 7], Some("note"));
        assert_eq!(lines.len(), 2 + TABLE_ROWS + 1);
        assert_eq!(
            lines[2],
            " 1  Moon 1          0.000000031        12.30      45"
        );
        assert_eq!(lines.last().unwrap(), "    note");
    }
}
