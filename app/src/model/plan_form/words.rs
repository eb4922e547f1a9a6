//! Parameter types and descriptions for people: bluesky-queueserver describes a parameter by
//! its Python annotation (`collections.abc.Sequence[__READABLE__]`) and its docstring in
//! reStructuredText (``` ``per_step`` ```, `:func:`); the form shows "list of detectors" and
//! plain text.

/// The device placeholders of bluesky-queueserver's annotations, in words.
const PLACEHOLDERS: [(&str, &str); 5] = [
    ("__READABLE__", "detector"),
    ("__MOVABLE__", "motor"),
    ("__FLYABLE__", "flyer"),
    ("__DEVICE__", "device"),
    ("__CALLABLE__", "function"),
];

/// Generic containers read as "list of …".
const LISTS: [&str; 6] = [
    "Sequence[",
    "Iterable[",
    "list[",
    "List[",
    "tuple[",
    "Tuple[",
];

/// `collections.abc.Sequence[__READABLE__]` → `list of detectors`; `int | None` → `int`;
/// `__MOVABLE__ | typing.Any` → `motor or any value`.
pub fn type_words(annotation: &str) -> String {
    let mut s = annotation
        .replace("collections.abc.", "")
        .replace("typing.", "");
    for (from, to) in PLACEHOLDERS {
        s = s.replace(from, to);
    }
    let s = lists(&s);
    let parts: Vec<String> = split_top(&s, '|')
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| p != "None" && !p.is_empty())
        .map(|p| match p.as_str() {
            "Any" => "any value".to_string(),
            p if p.starts_with("dict[") || p.starts_with("Dict[") => "dictionary".to_string(),
            p => p.to_string(),
        })
        .collect();
    parts.join(" or ")
}

/// Rewrites each `Sequence[x]` (and the like) as `list of xs`, innermost first.
fn lists(s: &str) -> String {
    let Some((at, open)) = LISTS
        .iter()
        .filter_map(|l| s.find(l).map(|i| (i, l.len())))
        .min()
    else {
        return s.to_string();
    };
    let body_start = at + open;
    let mut depth = 1;
    let mut end = None;
    for (i, c) in s[body_start..].char_indices() {
        match c {
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    end = Some(body_start + i);
                    break;
                }
            }
            _ => {}
        }
    }
    let Some(end) = end else {
        return s.to_string(); // unbalanced: leave it as it came
    };
    let inner = type_words(&s[body_start..end]);
    let plural = match inner.as_str() {
        "detector" | "motor" | "flyer" | "device" | "function" => format!("{inner}s"),
        other => other.to_string(),
    };
    format!("{}list of {plural}{}", &s[..at], lists(&s[end + 1..]))
}

/// `s` split at `sep` outside brackets.
pub(super) fn split_top(s: &str, sep: char) -> Vec<&str> {
    let (mut depth, mut from, mut out) = (0i32, 0, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            c if c == sep && depth == 0 => {
                out.push(&s[from..i]);
                from = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&s[from..]);
    out
}

/// A docstring's reStructuredText as plain text: roles (`:func:`) and backticks go.
pub fn plain_text(doc: &str) -> String {
    let mut s = doc.to_string();
    for role in [
        ":py:func:",
        ":py:class:",
        ":func:",
        ":class:",
        ":meth:",
        ":obj:",
        ":attr:",
        ":mod:",
    ] {
        s = s.replace(role, "");
    }
    s.replace('`', "")
}

/// Parameters a person does not set from a form: callables with a default (`per_step`).
pub fn internal(name: &str, annotation: &str, has_default: bool) -> bool {
    has_default
        && (name == "per_step"
            || annotation.contains("__CALLABLE__")
            || annotation.contains("Callable"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_read_as_words() {
        assert_eq!(
            type_words("collections.abc.Sequence[__READABLE__]"),
            "list of detectors"
        );
        assert_eq!(type_words("int | None"), "int");
        assert_eq!(type_words("__MOVABLE__ | typing.Any"), "motor or any value");
        assert_eq!(type_words("dict[str, typing.Any] | None"), "dictionary");
        assert_eq!(
            type_words("float | collections.abc.Iterable[float]"),
            "float or list of float"
        );
        assert_eq!(
            type_words("list[list[__MOVABLE__]]"),
            "list of list of motors"
        );
        assert_eq!(
            type_words("Sequence[int"),
            "Sequence[int",
            "unbalanced stays"
        );
        assert_eq!(type_words(""), "");
    }

    #[test]
    fn docstrings_lose_their_markup_and_callables_are_internal() {
        assert_eq!(
            plain_text("hook for ``per_step``, see :func:`bluesky.plans.scan`"),
            "hook for per_step, see bluesky.plans.scan"
        );
        assert!(internal("per_step", "typing.Callable | None", true));
        assert!(!internal("per_step", "", false), "a required one stays");
        assert!(!internal("num", "int", true));
    }
}
