//! The small Markdown of `markdown` applets: headings (`#`…`###`), paragraphs, `-`/`*` lists,
//! fenced code, and inline `**bold**`, `*italic*`, `` `code` `` and `[links](https://…)`.
//! Parsed into blocks the page renders as elements — never as raw HTML, so an applet cannot
//! inject script into every dashboard.

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inline {
    Text(String),
    Bold(String),
    Italic(String),
    Code(String),
    /// Only `http(s)://`, `/…` and `#…` targets become links; others stay text.
    Link {
        text: String,
        href: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    Heading(u8, Vec<Inline>),
    Paragraph(Vec<Inline>),
    List(Vec<Vec<Inline>>),
    Code(String),
}

pub fn parse(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut para: Vec<&str> = Vec::new();
    let mut list: Vec<Vec<Inline>> = Vec::new();
    let mut code: Option<Vec<&str>> = None;
    let flush = |para: &mut Vec<&str>, list: &mut Vec<Vec<Inline>>, blocks: &mut Vec<Block>| {
        if !para.is_empty() {
            blocks.push(Block::Paragraph(inline(&para.join(" "))));
            para.clear();
        }
        if !list.is_empty() {
            blocks.push(Block::List(std::mem::take(list)));
        }
    };
    for line in text.lines() {
        if let Some(lines) = code.as_mut() {
            if line.trim_start().starts_with("```") {
                blocks.push(Block::Code(lines.join("\n")));
                code = None;
            } else {
                lines.push(line);
            }
            continue;
        }
        let t = line.trim();
        if t.starts_with("```") {
            flush(&mut para, &mut list, &mut blocks);
            code = Some(Vec::new());
        } else if t.is_empty() {
            flush(&mut para, &mut list, &mut blocks);
        } else if let Some((level, rest)) = heading(t) {
            flush(&mut para, &mut list, &mut blocks);
            blocks.push(Block::Heading(level, inline(rest)));
        } else if let Some(item) = t.strip_prefix("- ").or_else(|| t.strip_prefix("* ")) {
            if !para.is_empty() {
                flush(&mut para, &mut list, &mut blocks);
            }
            list.push(inline(item));
        } else {
            if !list.is_empty() {
                flush(&mut para, &mut list, &mut blocks);
            }
            para.push(t);
        }
    }
    if let Some(lines) = code {
        blocks.push(Block::Code(lines.join("\n")));
    }
    flush(&mut para, &mut list, &mut blocks);
    blocks
}

fn heading(t: &str) -> Option<(u8, &str)> {
    let level = t.chars().take_while(|c| *c == '#').count();
    let rest = t[level..].strip_prefix(' ')?;
    (1..=3).contains(&level).then_some((level as u8, rest))
}

/// An inline mark (`**`) and what its content becomes.
type Span = (&'static str, fn(String) -> Inline);

fn inline(s: &str) -> Vec<Inline> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut rest = s;
    let push_text = |text: &mut String, out: &mut Vec<Inline>| {
        if !text.is_empty() {
            out.push(Inline::Text(std::mem::take(text)));
        }
    };
    while let Some(c) = rest.chars().next() {
        let spans: [Span; 3] = [
            ("**", Inline::Bold),
            ("`", Inline::Code),
            ("*", Inline::Italic),
        ];
        let mut matched = false;
        for (mark, make) in spans {
            if let Some(after) = rest.strip_prefix(mark) {
                if let Some(end) = after.find(mark).filter(|e| *e > 0) {
                    push_text(&mut text, &mut out);
                    out.push(make(after[..end].to_string()));
                    rest = &after[end + mark.len()..];
                    matched = true;
                    break;
                }
            }
        }
        if matched {
            continue;
        }
        if c == '[' {
            if let Some((label, href, after)) = link(rest) {
                push_text(&mut text, &mut out);
                out.push(Inline::Link { text: label, href });
                rest = after;
                continue;
            }
        }
        text.push(c);
        rest = &rest[c.len_utf8()..];
    }
    push_text(&mut text, &mut out);
    out
}

fn link(s: &str) -> Option<(String, String, &str)> {
    let close = s.find("](")?;
    let label = &s[1..close];
    let after = &s[close + 2..];
    let end = after.find(')')?;
    let href = &after[..end];
    let safe = href.starts_with("https://")
        || href.starts_with("http://")
        || (href.starts_with('/') && !href.starts_with("//"))
        || href.starts_with('#');
    safe.then(|| (label.to_string(), href.to_string(), &after[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_and_inline_spans() {
        let md = "# Beamtime\nAlign **first**, then *scan*.\n\n- check `det`\n- see [log](https://elog.example/1)\n\n```\nRE(scan())\n```";
        let b = parse(md);
        assert_eq!(
            b[0],
            Block::Heading(1, vec![Inline::Text("Beamtime".into())])
        );
        assert_eq!(
            b[1],
            Block::Paragraph(vec![
                Inline::Text("Align ".into()),
                Inline::Bold("first".into()),
                Inline::Text(", then ".into()),
                Inline::Italic("scan".into()),
                Inline::Text(".".into()),
            ])
        );
        let Block::List(items) = &b[2] else {
            panic!("{b:?}")
        };
        assert_eq!(items[0][1], Inline::Code("det".into()));
        assert_eq!(
            items[1][1],
            Inline::Link {
                text: "log".into(),
                href: "https://elog.example/1".into()
            }
        );
        assert_eq!(b[3], Block::Code("RE(scan())".into()));
    }

    #[test]
    fn script_links_and_html_stay_text() {
        let b = parse("[x](javascript:alert(1)) <script>alert(1)</script>");
        let Block::Paragraph(p) = &b[0] else { panic!() };
        assert!(p.iter().all(|i| matches!(i, Inline::Text(_))), "{p:?}");
    }
}
