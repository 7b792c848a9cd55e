//! Fitting a table to the terminal: which columns are shown at a width, how wide each is, and
//! how long text wraps or is shortened, so that no line is wider than the terminal.
//!
//! Ids, types and numbers are [`Fit::Keep`]: never wrapped, never shortened. Names wrap at word
//! boundaries ([`Fit::Wrap`]); notes wrap too but stop after a few lines with `…` (the caller
//! says where the whole text is). When even the narrowest form of every column does not fit,
//! columns give way in priority order (least important first), and the caller can say which.
//! comfy-table then only draws: every cell arrives already wrapped to its column's width.

use comfy_table::{Cell, Color, ContentArrangement, Table, presets};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// How a column's text may be laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// As it is, on one line: ids, types, numbers, money.
    Keep,
    /// Wrapped at spaces to the column's width; never narrower than `min` (or than its longest
    /// word, when that is shorter than the text); at most `max_lines` lines, the last one ending
    /// in `…` when text was left out.
    Wrap { min: usize, max_lines: usize },
    /// Wrapped at spaces only, never inside a word: as wide as its longest word at least.
    /// For cells of numbers with words beside them (`55 (+3 inactive)`).
    Words { max_lines: usize },
}

/// One column: its header, its cells (one per row), and how important it is.
#[derive(Debug, Clone)]
pub struct Col {
    pub header: String,
    pub cells: Vec<String>,
    /// Lower is more important: columns give way from the highest number down.
    pub priority: u8,
    pub fit: Fit,
    /// A colour per cell (drawn only when colours are on); none when shorter than `cells`.
    pub colors: Vec<Option<Color>>,
}

impl Col {
    pub fn new(header: impl Into<String>, priority: u8, fit: Fit) -> Col {
        Col {
            header: header.into(),
            cells: Vec::new(),
            priority,
            fit,
            colors: Vec::new(),
        }
    }

    /// The width of its widest cell (or header word), unwrapped.
    fn natural(&self) -> usize {
        let header = self.header.split_whitespace().map(width).max().unwrap_or(0);
        self.cells
            .iter()
            .map(|c| c.lines().map(width).max().unwrap_or(0))
            .max()
            .unwrap_or(0)
            .max(header)
    }

    /// The narrowest it may be.
    fn min(&self) -> usize {
        let natural = self.natural();
        match self.fit {
            Fit::Keep => natural,
            Fit::Wrap { min, .. } => {
                let header = self.header.split_whitespace().map(width).max().unwrap_or(0);
                natural.min(min.max(header))
            }
            Fit::Words { .. } => self
                .cells
                .iter()
                .chain(std::iter::once(&self.header))
                .flat_map(|c| c.split_whitespace())
                .map(width)
                .max()
                .unwrap_or(0),
        }
    }
}

/// What [`fit`] decided.
#[derive(Debug)]
pub struct Fitted {
    /// The table, ready to print.
    pub table: Table,
    /// Headers of the columns left out for want of width, most important first.
    pub dropped: Vec<String>,
    /// Whether any cell was shortened (ends in `…`).
    pub shortened: bool,
}

/// The width a column's borders and padding take in the house style (`│ x ┆ y │`): three per
/// column and one more.
const fn chrome(columns: usize) -> usize {
    3 * columns + 1
}

/// Lays `cols` (in display order) out in at most `width` columns of text, in colour when
/// `color`. The two most important columns are always shown, even on a terminal narrower than
/// they are.
pub fn fit(cols: Vec<Col>, width: usize, color: bool) -> Fitted {
    let mut order: Vec<usize> = (0..cols.len()).collect();
    order.sort_by_key(|i| cols[*i].priority);
    let mut shown = vec![false; cols.len()];
    let mut widths: Vec<usize> = cols.iter().map(Col::min).collect();
    let mut used = chrome(0);
    for (n, &i) in order.iter().enumerate() {
        let need = widths[i] + 3;
        if used + need > width && n >= 2 {
            break;
        }
        shown[i] = true;
        used += need;
    }
    // The room left goes to wrapped columns, most important first, up to their natural width.
    let mut spare = width.saturating_sub(used);
    for &i in &order {
        if !shown[i] || spare == 0 {
            continue;
        }
        let more = cols[i].natural().saturating_sub(widths[i]).min(spare);
        widths[i] += more;
        spare -= more;
    }
    let dropped = order
        .iter()
        .filter(|i| !shown[**i])
        .map(|i| cols[*i].header.clone())
        .collect();
    let mut shortened = false;
    let mut table = Table::new();
    table.load_preset(presets::UTF8_FULL_CONDENSED);
    table.set_content_arrangement(ContentArrangement::Disabled);
    if color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    let visible: Vec<usize> = (0..cols.len()).filter(|i| shown[*i]).collect();
    table.set_header(
        visible
            .iter()
            .map(|i| wrap(&cols[*i].header, widths[*i], usize::MAX).0.join("\n")),
    );
    let rows = cols.first().map_or(0, |c| c.cells.len());
    for r in 0..rows {
        table.add_row(visible.iter().map(|&i| {
            let text = cols[i].cells.get(r).map(String::as_str).unwrap_or("");
            let text = match cols[i].fit {
                Fit::Keep => text.to_string(),
                Fit::Wrap { max_lines, .. } | Fit::Words { max_lines } => {
                    let (lines, cut) = wrap(text, widths[i], max_lines);
                    shortened |= cut;
                    lines.join("\n")
                }
            };
            match cols[i].colors.get(r).copied().flatten() {
                Some(c) if color => Cell::new(text).fg(c),
                _ => Cell::new(text),
            }
        }));
    }
    Fitted {
        table,
        dropped,
        shortened,
    }
}

/// Display width (wide characters count two).
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// `text` wrapped at spaces into lines at most `w` wide (a longer word is broken), at most
/// `max_lines` of them; the last ends in `…` when anything was left out (then `true`).
pub fn wrap(text: &str, w: usize, max_lines: usize) -> (Vec<String>, bool) {
    let w = w.max(1);
    let mut lines: Vec<String> = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let sep = usize::from(!line.is_empty());
            if width(&line) + sep + width(word) <= w {
                if sep == 1 {
                    line.push(' ');
                }
                line.push_str(word);
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // A word wider than the column is broken where it must be.
            let mut rest = word;
            while width(rest) > w {
                let (head, tail) = split_at_width(rest, w);
                lines.push(head.to_string());
                rest = tail;
            }
            line.push_str(rest);
        }
        lines.push(line);
    }
    if lines.len() <= max_lines {
        return (lines, false);
    }
    lines.truncate(max_lines);
    let last = lines.last_mut().expect("max_lines is at least one");
    while width(last) + 1 > w {
        last.pop();
    }
    let trimmed = last.trim_end().len();
    last.truncate(trimmed);
    last.push('…');
    (lines, true)
}

/// The longest prefix of `s` at most `w` wide, and the rest; the prefix ends after a `-`, `/`,
/// `_`, `.` or `:` where one is (`M365-` / `PREMIUM`, not `M365-PREMI` / `UM`).
fn split_at_width(s: &str, w: usize) -> (&str, &str) {
    let mut used = 0;
    let mut after_punct = None;
    for (i, c) in s.char_indices() {
        let cw = c.width().unwrap_or(0);
        if used + cw > w && i > 0 {
            return s.split_at(after_punct.unwrap_or(i));
        }
        used += cw;
        if matches!(c, '-' | '/' | '_' | '.' | ':') {
            after_punct = Some(i + c.len_utf8());
        }
    }
    (s, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(header: &str, priority: u8, fit: Fit, cells: &[&str]) -> Col {
        Col {
            header: header.into(),
            cells: cells.iter().map(|c| c.to_string()).collect(),
            priority,
            fit,
            colors: Vec::new(),
        }
    }

    fn widest_line(t: &Table) -> usize {
        t.to_string().lines().map(width).max().unwrap_or(0)
    }

    #[test]
    fn wrapping_breaks_at_spaces_and_marks_what_it_leaves_out() {
        type Case<'a> = (&'a str, usize, usize, &'a [&'a str], bool);
        let cases: &[Case] = &[
            ("Acme Corp", 20, 3, &["Acme Corp"], false),
            (
                "Harbor Light Church",
                10,
                3,
                &["Harbor", "Light", "Church"],
                false,
            ),
            ("Harbor Light Church", 10, 2, &["Harbor", "Light…"], true),
            ("abcdefghij", 4, 5, &["abcd", "efgh", "ij"], false),
            ("M365-PREMIUM", 10, 3, &["M365-", "PREMIUM"], false),
            (
                "demo-backup-csv/bk-stor",
                10,
                4,
                &["demo-", "backup-", "csv/bk-", "stor"],
                false,
            ),
            ("Ünïcødé Café", 7, 3, &["Ünïcødé", "Café"], false),
            (
                "no usage seen since the last sync",
                12,
                1,
                &["no usage…"],
                true,
            ),
            ("", 5, 2, &[""], false),
        ];
        for (text, w, max, want, cut) in cases {
            let (lines, was_cut) = wrap(text, *w, *max);
            assert_eq!(&lines, want, "{text:?} at {w}");
            assert_eq!(was_cut, *cut, "{text:?} at {w}");
            assert!(lines.iter().all(|l| width(l) <= *w), "{lines:?}");
        }
    }

    #[test]
    fn columns_give_way_least_important_first_and_kept_cells_never_wrap() {
        let id = "F94c206e872";
        let cols = || {
            vec![
                col("ID", 0, Fit::Keep, &[id, "Fd19133243b"]),
                col("Type", 1, Fit::Keep, &["unmapped account", "under-billed"]),
                col(
                    "Company",
                    3,
                    Fit::Wrap {
                        min: 10,
                        max_lines: 3,
                    },
                    &["Harbor Light Church", "Ünïcødé Café"],
                ),
                col("Diff", 4, Fit::Keep, &["", "+12"]),
                col(
                    "Note",
                    6,
                    Fit::Wrap {
                        min: 16,
                        max_lines: 2,
                    },
                    &[&"not counted for any company; ".repeat(10), ""],
                ),
                col("Unit price", 7, Fit::Keep, &["", "30.50"]),
            ]
        };
        // Every column at its natural width is 290+ wide.
        let wide = fit(cols(), 400, false);
        assert!(wide.dropped.is_empty());
        assert!(!wide.shortened);

        for (w, dropped) in [
            (200, &[][..]),
            (120, &[][..]),
            (80, &["Unit price"][..]),
            (60, &["Note", "Unit price"][..]),
            (40, &["Company", "Diff", "Note", "Unit price"][..]),
        ] {
            let f = fit(cols(), w, false);
            assert_eq!(f.dropped, dropped, "at {w}");
            let text = f.table.to_string();
            assert!(widest_line(&f.table) <= w, "at {w}:\n{text}");
            assert!(text.contains(id), "the id is whole at {w}:\n{text}");
            assert!(text.contains("unmapped account"), "at {w}:\n{text}");
            if !dropped.contains(&"Note") {
                assert!(f.shortened, "the long note is shortened at {w}");
                assert!(text.contains('…'), "at {w}:\n{text}");
            }
        }
    }

    #[test]
    fn numbers_with_words_wrap_between_words_only() {
        let f = fit(
            vec![
                col("ID", 0, Fit::Keep, &["F1"]),
                col(
                    "Actual",
                    1,
                    Fit::Words { max_lines: 3 },
                    &["123456789 (+3 inactive, +1 excluded)"],
                ),
                col(
                    "Note",
                    2,
                    Fit::Wrap {
                        min: 30,
                        max_lines: 3,
                    },
                    &["x ".repeat(40).as_str()],
                ),
            ],
            50,
            false,
        );
        let text = f.table.to_string();
        assert!(text.contains("123456789"), "{text}");
        assert!(text.contains("inactive,"), "{text}");
        assert!(widest_line(&f.table) <= 50, "{text}");
    }

    #[test]
    fn the_two_most_important_columns_stay_on_a_tiny_terminal() {
        let f = fit(
            vec![
                col("ID", 0, Fit::Keep, &["F94c206e872"]),
                col("Type", 1, Fit::Keep, &["unmapped account"]),
                col("Diff", 2, Fit::Keep, &["+1"]),
            ],
            20,
            false,
        );
        assert_eq!(f.dropped, ["Diff"]);
        assert!(f.table.to_string().contains("F94c206e872"));
    }
}
