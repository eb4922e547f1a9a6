//! Spreadsheet (CSV) upload, without IO: rows become queue items, and every row's problem is
//! reported at once so a user fixes the file in one go.

use serde_json::{json, Map, Value};

/// Splits CSV text into rows of cells (RFC 4180: quoted cells may hold commas, quotes as `""`,
/// and line breaks).
pub fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                cell.push(c);
            }
            (false, '"') if cell.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
                line += 1;
            }
            (false, c) => cell.push(c),
        }
    }
    if quoted {
        return Err(format!(
            "a quoted cell opened before line {line} is never closed"
        ));
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    rows.retain(|r| r.iter().any(|c| !c.trim().is_empty()));
    Ok(rows)
}

/// A cell's value: JSON if it parses (numbers, true/false, lists, quoted strings), else text.
fn cell_value(cell: &str) -> Value {
    serde_json::from_str(cell.trim()).unwrap_or_else(|_| Value::String(cell.trim().to_string()))
}

/// Queue items from CSV text: a header row with `name` (or `plan_name`), optional `item_type`
/// and `args` (a JSON list), every other column a keyword argument. Errors list every bad row
/// (rows are numbered as in a spreadsheet: the header is row 1).
pub fn items(text: &str) -> Result<Vec<Value>, Vec<String>> {
    let rows = parse_csv(text).map_err(|e| vec![e])?;
    let Some((header, body)) = rows.split_first() else {
        return Err(vec![
            "the file is empty; it needs a header row with a 'name' column".into(),
        ]);
    };
    let header: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
    let Some(name_col) = header.iter().position(|h| h == "name" || h == "plan_name") else {
        return Err(vec![format!(
            "the header has no 'name' column (it has: {})",
            header.join(", ")
        )]);
    };
    let mut errors = Vec::new();
    let mut items = Vec::new();
    for (i, row) in body.iter().enumerate() {
        let n = i + 2;
        if row.len() > header.len() {
            errors.push(format!(
                "row {n}: {} cells but the header has {} columns",
                row.len(),
                header.len()
            ));
            continue;
        }
        let name = row.get(name_col).map_or("", |s| s.trim());
        if name.is_empty() {
            errors.push(format!("row {n}: the 'name' cell is empty"));
            continue;
        }
        let mut item = json!({"name": name, "item_type": "plan"});
        let mut kwargs = Map::new();
        for (col, cell) in header.iter().zip(row) {
            if cell.trim().is_empty() || col == &header[name_col] {
                continue;
            }
            match col.as_str() {
                "item_type" => item["item_type"] = json!(cell.trim()),
                "args" => match cell_value(cell) {
                    Value::Array(a) => item["args"] = Value::Array(a),
                    _ => errors.push(format!("row {n}: 'args' must be a JSON list such as [[\"det1\"], \"motor\", -1, 1, 10]")),
                },
                key => {
                    kwargs.insert(key.to_string(), cell_value(cell));
                }
            }
        }
        item["kwargs"] = Value::Object(kwargs);
        items.push(item);
    }
    if items.is_empty() && errors.is_empty() {
        errors.push("the file has a header but no plans".into());
    }
    if errors.is_empty() {
        Ok(items)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_cells_keep_commas_quotes_and_line_breaks() {
        let rows = parse_csv("a,b\n\"x, y\",\"say \"\"hi\"\"\"\r\n\"two\nlines\",3\n").unwrap();
        assert_eq!(
            rows,
            vec![
                vec!["a", "b"],
                vec!["x, y", "say \"hi\""],
                vec!["two\nlines", "3"]
            ]
        );
        assert!(parse_csv("\"open").is_err());
    }

    #[test]
    fn rows_become_plans_and_every_bad_row_is_named() {
        let text = "name,args,num,md\ncount,\"[[\"\"det1\"\"]]\",3,\nscan,\"[[\"\"det\"\"], \"\"motor\"\", -1, 1, 5]\",,note\n";
        let items = items(text).unwrap();
        assert_eq!(
            items[0],
            json!({"name": "count", "item_type": "plan", "args": [["det1"]], "kwargs": {"num": 3}})
        );
        assert_eq!(items[1]["kwargs"], json!({"md": "note"}));
        let errors = items_err("name,args\ncount,[1]\n,[2]\nscan,notalist\n");
        assert_eq!(
            errors,
            [
                "row 3: the 'name' cell is empty",
                "row 4: 'args' must be a JSON list such as [[\"det1\"], \"motor\", -1, 1, 10]"
            ]
        );
        assert!(items_err("plan,x\n")[0].contains("no 'name' column"));
        assert!(items_err("")[0].contains("empty"));
    }

    fn items_err(text: &str) -> Vec<String> {
        items(text).unwrap_err()
    }
}
