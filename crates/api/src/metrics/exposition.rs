//! Reading the Prometheus text format back into samples, for the snapshot:
//! the renderer of `metrics-exporter-prometheus` offers no other way to read
//! the values it holds.

use std::collections::BTreeMap;

use domain::metrics::MetricSample;

/// The samples of a text-format exposition: `name{labels} value` lines;
/// comments, blank lines and lines that do not parse are skipped.
pub fn parse_samples(text: &str) -> Vec<MetricSample> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(parse_line)
        .collect()
}

fn parse_line(line: &str) -> Option<MetricSample> {
    let name_end = line.find(['{', ' '])?;
    let name = &line[..name_end];
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if rest.starts_with('{') {
        rest = parse_labels(&rest[1..], &mut labels)?;
    }
    // A value, then an optional timestamp.
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().ok()?,
    };
    Some(MetricSample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// Reads `key="value",...}` into `labels`; what follows the `}`.
fn parse_labels<'a>(mut rest: &'a str, labels: &mut BTreeMap<String, String>) -> Option<&'a str> {
    loop {
        rest = rest.trim_start_matches([',', ' ']);
        if let Some(after) = rest.strip_prefix('}') {
            return Some(after);
        }
        let eq = rest.find('=')?;
        let key = rest[..eq].trim().to_owned();
        rest = rest[eq + 1..].strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                (_, c) => value.push(c),
            }
        };
        labels.insert(key, value);
        rest = &rest[end + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_with_and_without_labels_escapes_and_infinities() {
        let text = "# HELP x_total help\n# TYPE x_total counter\n\
                    x_total{method=\"GET\",route=\"/a/{id}\",status=\"200\"} 3\n\
                    up 1\n\
                    h_bucket{le=\"+Inf\"} 7\n\
                    odd{v=\"a\\\"b\\\\c\\nd\"} -Inf\n\
                    broken{v=\"x\" notanumber\n";
        let samples = parse_samples(text);
        assert_eq!(samples.len(), 4, "{samples:?}");
        assert_eq!(samples[0].name, "x_total");
        assert_eq!(samples[0].labels["route"], "/a/{id}");
        assert!((samples[0].value - 3.0).abs() < f64::EPSILON);
        assert!(samples[1].labels.is_empty());
        assert_eq!(samples[2].labels["le"], "+Inf");
        assert_eq!(samples[3].labels["v"], "a\"b\\c\nd");
        assert!(samples[3].value.is_infinite());
    }
}
