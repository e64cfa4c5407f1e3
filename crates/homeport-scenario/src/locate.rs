//! Where each key of a scenario file was written. A problem found after the file parsed — two keys
//! that contradict each other, a `${…}` the lookup server does not provide — names its line and
//! column as a parse error does (docs/scenarios.md: "Checked before anything plays").

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use toml::de::{DeTable, DeValue};

/// The spans of every key and value of one file, by dotted path (`connect.user`,
/// `connect.approve_redirect.0`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Locations {
    text: Arc<str>,
    /// path → (the key's span, the value's span)
    spans: BTreeMap<String, (Range<usize>, Range<usize>)>,
}

impl Locations {
    /// The spans of `text`; empty when it does not parse (the parse error has its own position).
    pub fn of(text: &str) -> Locations {
        let mut spans = BTreeMap::new();
        if let Ok(document) = DeTable::parse(text) {
            collect_table("", document.get_ref(), &mut spans);
        }
        Locations { text: Arc::from(text), spans }
    }

    /// Line and column (from 1) of the key `path`, else of the nearest table it is in (a missing
    /// key is reported at its table's header), else 1:1.
    pub fn key(&self, path: &str) -> (usize, usize) {
        let mut path = path;
        loop {
            if let Some((key, _)) = self.spans.get(path) {
                return line_and_column(&self.text, key.start);
            }
            match path.rsplit_once('.') {
                Some((parent, _)) => path = parent,
                None => return (1, 1),
            }
        }
    }

    /// Line and column of `needle` (a `${…}`) inside the value at `path` (or inside its key, for
    /// a table keyed by placeholders like `requests_to`), else of the value, else of the key.
    pub fn within(&self, path: &str, needle: &str) -> (usize, usize) {
        match self.spans.get(path) {
            Some((key, value)) => {
                let found = |span: &Range<usize>| {
                    self.text.get(span.clone()).and_then(|raw| raw.find(needle)).map(|at| span.start + at)
                };
                let at = found(value).or_else(|| found(key)).unwrap_or(value.start);
                line_and_column(&self.text, at)
            }
            None => self.key(path),
        }
    }
}

fn collect_table(prefix: &str, table: &DeTable<'_>, spans: &mut BTreeMap<String, (Range<usize>, Range<usize>)>) {
    for (key, value) in table.iter() {
        let path = if prefix.is_empty() { key.get_ref().to_string() } else { format!("{prefix}.{}", key.get_ref()) };
        spans.insert(path.clone(), (key.span(), value.span()));
        collect_value(&path, value.get_ref(), spans);
    }
}

fn collect_value(path: &str, value: &DeValue<'_>, spans: &mut BTreeMap<String, (Range<usize>, Range<usize>)>) {
    match value {
        DeValue::Table(table) => collect_table(path, table, spans),
        DeValue::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let item_path = format!("{path}.{index}");
                spans.insert(item_path.clone(), (item.span(), item.span()));
                collect_value(&item_path, item.get_ref(), spans);
            }
        }
        _ => {}
    }
}

/// Line and column (from 1, in characters) of byte `offset` in `text`: the lookup server's, as
/// its demo files are placed the same way.
pub(crate) use homeport_lookup::line_and_column;

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str =
        "name = \"x\"\n[connect]\naddress = \"${central}\"\napprove_redirect = [\"a\", \"${origin:nope}\"]\n";

    #[test]
    fn keys_values_and_placeholders_have_their_line_and_column() {
        let spots = Locations::of(FILE);
        assert_eq!(spots.key("name"), (1, 1), "a top-level key");
        assert_eq!(spots.key("connect.address"), (3, 1), "a key in a table");
        assert_eq!(spots.key("connect.user"), (2, 2), "a missing key: its table's header");
        assert_eq!(spots.key("expect.status"), (1, 1), "a missing table: the start of the file");
        assert_eq!(spots.within("connect.address", "${central}"), (3, 12), "the placeholder itself");
        assert_eq!(spots.within("connect.approve_redirect.1", "${origin:nope}"), (4, 27), "an array's item");
        assert_eq!(spots.within("connect.address", "${other}"), (3, 11), "not found: the value");
        assert_eq!(Locations::of("name = ").key("name"), (1, 1), "a file that does not parse has no spans");
        let keyed = Locations::of("[expect]\nrequests_to = { \"${origin:x}\" = 0 }\n");
        assert_eq!(keyed.within("expect.requests_to.${origin:x}", "${origin:x}"), (2, 18), "a placeholder as a key");
    }
}
