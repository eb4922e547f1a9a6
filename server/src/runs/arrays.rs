//! Compact storage of numeric arrays inside events (an image sent inline, a spectrum): the
//! event's `data` keeps a placeholder `{"$array": i}` and the numbers go, as raw little-endian
//! values with their shape, into one BLOB per event. A 512×512 frame is then 2 MiB of binary
//! instead of ~4 MiB of JSON text, and scalar columns stay quick to read.
//!
//! Only rectangular arrays of at least [`MIN_LEN`] numbers that are all integers or all floats
//! are packed, so that unpacking gives back exactly the JSON that came in.

use serde_json::{json, Map, Number, Value};

pub const MIN_LEN: usize = 16;

const F64: u8 = 0;
const I64: u8 = 1;

/// Shape and flattened numbers of a rectangular numeric array, if it is one.
fn flatten(v: &Value) -> Option<(Vec<u32>, Vec<&Number>)> {
    let mut shape = Vec::new();
    let mut level = v;
    while let Value::Array(a) = level {
        shape.push(u32::try_from(a.len()).ok()?);
        level = a.first()?;
    }
    let mut out = Vec::new();
    collect(v, &shape, &mut out)?;
    Some((shape, out))
}

fn collect<'a>(v: &'a Value, shape: &[u32], out: &mut Vec<&'a Number>) -> Option<()> {
    match (v, shape.split_first()) {
        (Value::Array(a), Some((n, rest))) if a.len() == *n as usize => {
            for x in a {
                collect(x, rest, out)?;
            }
            Some(())
        }
        (Value::Number(n), None) => {
            out.push(n);
            Some(())
        }
        _ => None,
    }
}

/// `data` with big arrays taken out, and the blob that holds them (None if there were none).
pub fn pack(obj: &Map<String, Value>) -> (String, Option<Vec<u8>>) {
    if !obj.values().any(Value::is_array) {
        // Scalars only (the common case): nothing to take out.
        return (
            serde_json::to_string(obj).unwrap_or_else(|_| "{}".into()),
            None,
        );
    }
    let mut blob = Vec::new();
    let mut out = Map::new();
    let mut count = 0u32;
    for (k, v) in obj {
        let packed = v
            .is_array()
            .then(|| flatten(v))
            .flatten()
            .filter(|(_, n)| n.len() >= MIN_LEN)
            .and_then(|(shape, nums)| {
                let dtype = if nums.iter().all(|n| n.is_i64()) {
                    I64
                } else if nums.iter().all(|n| n.is_f64()) {
                    F64
                } else {
                    return None;
                };
                blob.push(dtype);
                blob.push(shape.len() as u8);
                for d in &shape {
                    blob.extend_from_slice(&d.to_le_bytes());
                }
                for n in nums {
                    if dtype == I64 {
                        blob.extend_from_slice(&n.as_i64().unwrap_or_default().to_le_bytes());
                    } else {
                        blob.extend_from_slice(&n.as_f64().unwrap_or_default().to_le_bytes());
                    }
                }
                Some(())
            });
        if packed.is_some() {
            out.insert(k.clone(), json!({ "$array": count }));
            count += 1;
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    let blob = (count > 0).then_some(blob);
    (Value::Object(out).to_string(), blob)
}

/// The arrays of a blob, in order.
fn arrays(blob: &[u8]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut at = 0;
    let take = |at: &mut usize, n: usize| -> Option<&[u8]> {
        let s = blob.get(*at..*at + n)?;
        *at += n;
        Some(s)
    };
    while at < blob.len() {
        let Some(head) = take(&mut at, 2) else { break };
        let (dtype, ndim) = (head[0], head[1] as usize);
        let mut shape = Vec::with_capacity(ndim);
        for _ in 0..ndim {
            let Some(d) = take(&mut at, 4) else {
                return out;
            };
            shape.push(u32::from_le_bytes(d.try_into().unwrap_or_default()) as usize);
        }
        let total: usize = shape.iter().product();
        let mut flat = Vec::with_capacity(total);
        for _ in 0..total {
            let Some(b) = take(&mut at, 8) else {
                return out;
            };
            let bytes: [u8; 8] = b.try_into().unwrap_or_default();
            flat.push(if dtype == I64 {
                json!(i64::from_le_bytes(bytes))
            } else {
                json!(f64::from_le_bytes(bytes))
            });
        }
        out.push(nest(&shape, &mut flat.into_iter()));
    }
    out
}

fn nest(shape: &[usize], flat: &mut impl Iterator<Item = Value>) -> Value {
    match shape.split_first() {
        None => flat.next().unwrap_or(Value::Null),
        Some((n, rest)) => Value::Array((0..*n).map(|_| nest(rest, flat)).collect()),
    }
}

/// Puts the arrays of `blob` back into `data`.
pub fn unpack(data: &mut Value, blob: Option<&[u8]>) {
    let Some(blob) = blob else { return };
    let list = arrays(blob);
    if let Some(obj) = data.as_object_mut() {
        for v in obj.values_mut() {
            if let Some(i) = v.get("$array").and_then(Value::as_u64) {
                if let Some(a) = list.get(i as usize) {
                    *v = a.clone();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_round_trip_exactly_and_small_values_stay_json() {
        let img: Vec<Vec<f64>> = (0..20)
            .map(|r| (0..30).map(|c| (r * 30 + c) as f64 * 0.5).collect())
            .collect();
        let ints: Vec<i64> = (0..100).map(|i| i * 7 - 300).collect();
        let data = json!({"img": img, "spectrum": ints, "det": 1.5, "short": [1, 2, 3], "mixed": vec![json!(1); 15].into_iter().chain([json!(2.5)]).collect::<Vec<_>>()});
        let (text, blob) = pack(data.as_object().unwrap());
        let blob = blob.expect("two arrays packed");
        assert!(text.contains("\"$array\""));
        assert!(
            text.contains("\"short\":[1,2,3]"),
            "small arrays stay JSON: {text}"
        );
        assert!(blob.len() < 20 * 30 * 8 + 100 * 8 + 64);
        let mut back: Value = serde_json::from_str(&text).unwrap();
        unpack(&mut back, Some(&blob));
        assert_eq!(back, data);
    }

    #[test]
    fn ragged_arrays_are_left_alone() {
        let data = json!({"ragged": [vec![1.0; 20], vec![1.0; 19]]});
        let (text, blob) = pack(data.as_object().unwrap());
        assert!(blob.is_none());
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), data);
    }
}
