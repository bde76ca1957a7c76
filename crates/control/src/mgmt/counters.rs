//! A neutral snapshot of counters, filled by whoever owns them (the data
//! plane sums its per-worker counters into one) and rendered here for
//! `nvo ctl` and in the Prometheus text exposition format.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

/// Whether a metric only grows or goes up and down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// Monotonic since start (frames, bytes, drops).
    Counter,
    /// A level (MAC entries, ports up).
    Gauge,
}

/// One labelled value of a metric.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// Label names and values, such as `("port", "vm1")`.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: u64,
}

/// A metric family: one name, one meaning, many labelled samples.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterSet {
    /// The metric name, such as `nvo_port_rx_frames_total`.
    pub name: String,
    /// One line saying what it counts.
    pub help: String,
    /// Counter or gauge.
    pub kind: MetricKind,
    /// Its samples.
    pub samples: Vec<Sample>,
}

impl CounterSet {
    /// An empty family.
    pub fn new(name: impl Into<String>, help: impl Into<String>, kind: MetricKind) -> Self {
        CounterSet {
            name: name.into(),
            help: help.into(),
            kind,
            samples: Vec::new(),
        }
    }

    /// Adds a sample; `labels` as `[("port", "vm1"), ...]`.
    pub fn push(&mut self, labels: &[(&str, &str)], value: u64) -> &mut Self {
        self.samples.push(Sample {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            value,
        });
        self
    }
}

/// Renders `sets` in the Prometheus text exposition format (version
/// 0.0.4): `# HELP`, `# TYPE`, then one line per sample. Names and label
/// names are made legal by replacing other characters with `_`; label
/// values and help text are escaped.
pub fn render_prometheus(sets: &[CounterSet]) -> String {
    let mut out = String::new();
    for set in sets {
        let name = metric_name(&set.name);
        let kind = match set.kind {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
        };
        // Writing into a String cannot fail.
        let _ = writeln!(out, "# HELP {name} {}", escape(&set.help, false));
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for s in &set.samples {
            out.push_str(&name);
            if !s.labels.is_empty() {
                out.push('{');
                for (i, (k, v)) in s.labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{}=\"{}\"", label_name(k), escape(v, true));
                }
                out.push('}');
            }
            let _ = writeln!(out, " {}", s.value);
        }
    }
    out
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`.
fn metric_name(s: &str) -> String {
    legal(s, |c| c == ':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`.
fn label_name(s: &str) -> String {
    legal(s, |_| false)
}

fn legal(s: &str, extra: impl Fn(char) -> bool) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || extra(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// Backslash and newline are escaped everywhere; double quotes only in
/// label values.
fn escape(s: &str, quotes: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quotes => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_help_type_and_labelled_samples() {
        let mut rx = CounterSet::new(
            "nvo_port_rx_frames_total",
            "Frames received.",
            MetricKind::Counter,
        );
        rx.push(&[("port", "vm1")], 10).push(&[("port", "up0")], 7);
        let mut macs = CounterSet::new("nvo_mac_entries", "MAC table entries.", MetricKind::Gauge);
        macs.push(&[], 3);
        assert_eq!(
            render_prometheus(&[rx, macs]),
            "# HELP nvo_port_rx_frames_total Frames received.\n\
             # TYPE nvo_port_rx_frames_total counter\n\
             nvo_port_rx_frames_total{port=\"vm1\"} 10\n\
             nvo_port_rx_frames_total{port=\"up0\"} 7\n\
             # HELP nvo_mac_entries MAC table entries.\n\
             # TYPE nvo_mac_entries gauge\n\
             nvo_mac_entries 3\n"
        );
    }

    #[test]
    fn several_labels_are_comma_separated_in_order() {
        let mut d = CounterSet::new("nvo_drops_total", "Drops.", MetricKind::Counter);
        d.push(&[("reason", "unknown_vni"), ("port", "up0")], 2);
        assert!(render_prometheus(&[d])
            .contains("nvo_drops_total{reason=\"unknown_vni\",port=\"up0\"} 2\n"));
    }

    #[test]
    fn label_values_and_help_are_escaped() {
        let mut s = CounterSet::new("x", "a \\ b\nc \"q\"", MetricKind::Gauge);
        s.push(&[("v", "say \"hi\"\\\n")], 1);
        let text = render_prometheus(&[s]);
        assert!(text.contains("# HELP x a \\\\ b\\nc \"q\"\n"), "{text}");
        assert!(
            text.contains("x{v=\"say \\\"hi\\\"\\\\\\n\"} 1\n"),
            "{text}"
        );
    }

    #[test]
    fn illegal_names_are_made_legal() {
        let mut s = CounterSet::new("nvo-port.rx", "h", MetricKind::Counter);
        s.push(&[("9port", "a")], 1);
        let text = render_prometheus(&[s]);
        assert!(text.contains("# TYPE nvo_port_rx counter\n"), "{text}");
        assert!(text.contains("nvo_port_rx{_9port=\"a\"} 1\n"), "{text}");
    }

    #[test]
    fn nothing_renders_as_nothing() {
        assert_eq!(render_prometheus(&[]), "");
    }
}
