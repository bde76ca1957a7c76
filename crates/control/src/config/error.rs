//! The one error a configuration file can be refused with.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Why a configuration file was refused.
///
/// `Invalid` always points at a place in the file, so that an operator can
/// go straight to it: `nvo.toml:14:8: domain "blue": vni 16777216 is out of
/// range (0..=16777215)`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("{}: cannot read the configuration: {source}", path.display())]
    Read {
        /// The file named on the command line.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file was read, but its syntax, a type or a rule is wrong.
    #[error("{}", Located(self))]
    Invalid {
        /// The file named on the command line (or the name given to
        /// [`Config::from_str`](super::Config::from_str)).
        path: PathBuf,
        /// 1-based line of the offending value.
        line: usize,
        /// 1-based column, counted in characters.
        column: usize,
        /// Which table it is in, in words: `domain "blue"`, `switch`,
        /// `patch #2`; empty when the file does not parse as TOML.
        scope: String,
        /// The key within `scope`, `vni`; empty when the whole table is
        /// at fault (a missing key, for instance).
        key: String,
        /// What is wrong, naming the bad value.
        reason: String,
    },
}

impl ConfigError {
    /// The line of the error (1-based), or 0 when the file was unreadable.
    pub fn line(&self) -> usize {
        match self {
            ConfigError::Read { .. } => 0,
            ConfigError::Invalid { line, .. } => *line,
        }
    }

    /// The column of the error (1-based), or 0 when the file was unreadable.
    pub fn column(&self) -> usize {
        match self {
            ConfigError::Read { .. } => 0,
            ConfigError::Invalid { column, .. } => *column,
        }
    }

    /// The key at fault, or "" when none is.
    pub fn key(&self) -> &str {
        match self {
            ConfigError::Read { .. } => "",
            ConfigError::Invalid { key, .. } => key,
        }
    }

    /// The reason alone, without the location.
    pub fn reason(&self) -> String {
        match self {
            ConfigError::Read { source, .. } => source.to_string(),
            ConfigError::Invalid { reason, .. } => reason.clone(),
        }
    }

    /// Builds an `Invalid` error at byte offset `span.start` of `text`.
    pub(crate) fn at(
        path: &Path,
        text: &str,
        span: Range<usize>,
        scope: &str,
        key: &str,
        reason: String,
    ) -> ConfigError {
        let (line, column) = line_column(text, span.start);
        ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            scope: scope.to_string(),
            key: key.to_string(),
            reason,
        }
    }
}

/// Display helper for `Invalid`; the key reads as the subject of the reason
/// ("vni 16777216 is out of range").
struct Located<'a>(&'a ConfigError);

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ConfigError::Invalid {
            path,
            line,
            column,
            scope,
            key,
            reason,
        } = self.0
        else {
            return Ok(());
        };
        write!(f, "{}:{line}:{column}: ", path.display())?;
        if !scope.is_empty() {
            write!(f, "{scope}: ")?;
        }
        if !key.is_empty() {
            write!(f, "{key} ")?;
        }
        f.write_str(reason)
    }
}

/// 1-based line and character column of byte `offset` in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    // A span may start inside a multi-byte character only if it is wrong;
    // step back to a boundary rather than panic.
    let mut offset = offset;
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..offset].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        // 'é' is two bytes but one column.
        assert_eq!(line_column(text, 9), (2, 3));
        assert_eq!(line_column(text, 1000), (3, 1));
    }

    #[test]
    fn display_reads_as_a_sentence() {
        let e = ConfigError::at(
            Path::new("nvo.toml"),
            "x\nvni = 16777216\n",
            8..16,
            "domain \"blue\"",
            "vni",
            "16777216 is out of range (0..=16777215)".into(),
        );
        assert_eq!(
            e.to_string(),
            "nvo.toml:2:7: domain \"blue\": vni 16777216 is out of range (0..=16777215)"
        );
    }
}
