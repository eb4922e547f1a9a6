//! Where in the queue an operation applies: bluesky-queueserver's `pos` ("front", "back", an
//! index, negative from the back), `before_uid` and `after_uid`, resolved against a list of uids.
//!
//! Pure: works on the current order of the queue (anything with a uid) and returns indices or a
//! message for the client.

use serde_json::Value;

/// A position given as `pos`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pos {
    Front,
    Back,
    Index(i64),
}

impl Pos {
    /// Parses a JSON `pos`: "front", "back" or an integer.
    pub fn from_json(v: &Value) -> Result<Pos, String> {
        match v {
            Value::String(s) if s == "front" => Ok(Pos::Front),
            Value::String(s) if s == "back" => Ok(Pos::Back),
            Value::Number(n) if n.as_i64().is_some() => Ok(Pos::Index(n.as_i64().unwrap_or_default())),
            other => Err(format!(
                "Parameter 'pos' has incorrect value: pos={other} (use \"front\", \"back\" or an integer index)"
            )),
        }
    }
}

/// Two placements given at once. The wording is bluesky's for an insert; a move says it its own way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Ambiguous {
    #[error("Ambiguous parameters: plan position and UID is specified")]
    PositionAndUid,
    #[error(
        "Ambiguous parameters: request to insert the plan before and after the reference plan"
    )]
    BeforeAndAfter,
}

/// Where to put an item: by position, or relative to another item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    At(Pos),
    Before(String),
    After(String),
}

impl Placement {
    /// Combines the optional `pos`, `before_uid`, `after_uid` of a request; refuses ambiguity.
    pub fn from_parts(
        pos: Option<Pos>,
        before: Option<String>,
        after: Option<String>,
    ) -> Result<Placement, Ambiguous> {
        match (pos, before, after) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(Ambiguous::PositionAndUid),
            (None, Some(_), Some(_)) => Err(Ambiguous::BeforeAndAfter),
            (None, Some(uid), None) => Ok(Placement::Before(uid)),
            (None, None, Some(uid)) => Ok(Placement::After(uid)),
            (Some(pos), None, None) => Ok(Placement::At(pos)),
            (None, None, None) => Ok(Placement::At(Pos::Back)),
        }
    }
}

/// Something in the queue with a uid: the queue's items themselves, or (in tests) bare uids.
/// The functions here read the queue in place, so an add does not copy the queue's uids.
pub trait HasUid {
    fn uid(&self) -> &str;
}

impl HasUid for &str {
    fn uid(&self) -> &str {
        self
    }
}

impl HasUid for hutch_app::model::queue::QueueItem {
    fn uid(&self) -> &str {
        &self.item_uid
    }
}

fn find(uids: &[impl HasUid], uid: &str) -> Option<usize> {
    uids.iter().position(|u| u.uid() == uid)
}

/// The index at which a new item is inserted into a queue of `uids`.
///
/// `Index(i)` with `i ≥ 0` makes the new item index `i`; a negative `i` counts from the back of
/// the new queue (-1 appends, -2 inserts before the last item); past either end means the back or
/// the front, as in bluesky.
pub fn insertion_index(uids: &[impl HasUid], placement: &Placement) -> Result<usize, String> {
    let n = uids.len() as i64;
    match placement {
        Placement::At(Pos::Back) => Ok(uids.len()),
        Placement::At(Pos::Front) => Ok(0),
        Placement::At(Pos::Index(i)) => {
            let i = *i;
            Ok(if i >= 0 {
                i.min(n) as usize
            } else {
                (n + 1 + i).max(0) as usize
            })
        }
        Placement::Before(uid) => {
            find(uids, uid).ok_or_else(|| format!("Plan with UID '{uid}' is not in the queue"))
        }
        Placement::After(uid) => find(uids, uid)
            .map(|i| i + 1)
            .ok_or_else(|| format!("Plan with UID '{uid}' is not in the queue")),
    }
}

/// The index of an existing item given by `pos` (negative from the back), for get/remove/move.
pub fn existing_index(uids: &[impl HasUid], pos: &Pos) -> Option<usize> {
    let n = uids.len() as i64;
    let i = match pos {
        Pos::Front => 0,
        Pos::Back => n - 1,
        Pos::Index(i) if *i < 0 => n + i,
        Pos::Index(i) => *i,
    };
    (0..n).contains(&i).then_some(i as usize)
}

/// Where a moved item ends up, as an index into the queue *after* it was taken out.
///
/// `src` is its current index. With `pos_dest` the item ends at that index of the final queue
/// (clamped); with a reference uid it lands right before or after that item.
pub fn move_destination(
    uids: &[impl HasUid],
    src: usize,
    dest: &Placement,
) -> Result<usize, String> {
    let n = uids.len();
    let last = n.saturating_sub(1) as i64;
    let final_index = match dest {
        Placement::At(Pos::Front) => 0,
        Placement::At(Pos::Back) => last,
        Placement::At(Pos::Index(i)) => {
            let i = if *i < 0 { n as i64 + i } else { *i };
            i.clamp(0, last)
        }
        Placement::Before(uid) | Placement::After(uid) => {
            let d = find(uids, uid)
                .ok_or_else(|| format!("Destination plan (UID '{uid}') was not found"))?;
            let after = matches!(dest, Placement::After(_));
            // Index of the reference item once the source is taken out.
            let d = if d > src { d - 1 } else { d } as i64;
            if uids.get(src).is_some_and(|s| s.uid() == uid) {
                src as i64
            } else if after {
                d + 1
            } else {
                d
            }
        }
    };
    Ok(final_index as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const Q: [&str; 4] = ["a", "b", "c", "d"];

    fn insert(placement: Placement) -> Result<usize, String> {
        insertion_index(&Q, &placement)
    }

    #[test]
    fn insertion_positions_follow_bluesky() {
        use Placement::*;
        use Pos::*;
        let table = [
            (At(Back), 4),
            (At(Front), 0),
            (At(Index(0)), 0),
            (At(Index(2)), 2),
            (At(Index(4)), 4),
            (At(Index(100)), 4),
            (At(Index(-1)), 4),
            (At(Index(-2)), 3),
            (At(Index(-4)), 1),
            (At(Index(-5)), 0),
            (At(Index(-100)), 0),
            (Before("c".into()), 2),
            (After("c".into()), 3),
            (After("d".into()), 4),
        ];
        for (placement, want) in table {
            assert_eq!(insert(placement.clone()), Ok(want), "{placement:?}");
        }
        assert!(insert(Before("zz".into()))
            .unwrap_err()
            .contains("'zz' is not in the queue"));
        assert_eq!(insertion_index(&[] as &[&str], &At(Index(-1))), Ok(0));
    }

    #[test]
    fn ambiguous_placements_are_refused() {
        assert_eq!(
            Placement::from_parts(Some(Pos::Front), Some("a".into()), None),
            Err(Ambiguous::PositionAndUid)
        );
        assert!(
            Placement::from_parts(None, Some("a".into()), Some("b".into()))
                .unwrap_err()
                .to_string()
                .contains("before and after")
        );
        assert_eq!(
            Placement::from_parts(None, None, None),
            Ok(Placement::At(Pos::Back))
        );
    }

    #[test]
    fn pos_parses_from_json() {
        assert_eq!(Pos::from_json(&json!("front")), Ok(Pos::Front));
        assert_eq!(Pos::from_json(&json!(-2)), Ok(Pos::Index(-2)));
        assert!(Pos::from_json(&json!("middle"))
            .unwrap_err()
            .contains("incorrect value"));
        assert!(Pos::from_json(&json!(1.5)).is_err());
    }

    #[test]
    fn existing_items_by_position() {
        assert_eq!(existing_index(&Q, &Pos::Front), Some(0));
        assert_eq!(existing_index(&Q, &Pos::Back), Some(3));
        assert_eq!(existing_index(&Q, &Pos::Index(-1)), Some(3));
        assert_eq!(existing_index(&Q, &Pos::Index(-4)), Some(0));
        assert_eq!(existing_index(&Q, &Pos::Index(-5)), None);
        assert_eq!(existing_index(&Q, &Pos::Index(4)), None);
        assert_eq!(existing_index(&[] as &[&str], &Pos::Back), None);
    }

    /// Applies a move the way the queue does and returns the new order.
    fn moved(src: usize, dest: Placement) -> Vec<&'static str> {
        let to = move_destination(&Q, src, &dest).unwrap();
        let mut v = Q.to_vec();
        let item = v.remove(src);
        v.insert(to, item);
        v
    }

    #[test]
    fn moves_land_where_asked() {
        use Placement::*;
        use Pos::*;
        assert_eq!(moved(0, At(Back)), ["b", "c", "d", "a"]);
        assert_eq!(moved(3, At(Front)), ["d", "a", "b", "c"]);
        assert_eq!(moved(0, At(Index(2))), ["b", "c", "a", "d"]);
        assert_eq!(moved(3, At(Index(1))), ["a", "d", "b", "c"]);
        assert_eq!(moved(1, At(Index(-1))), ["a", "c", "d", "b"]);
        assert_eq!(moved(0, Before("d".into())), ["b", "c", "a", "d"]);
        assert_eq!(moved(0, After("d".into())), ["b", "c", "d", "a"]);
        assert_eq!(moved(3, Before("a".into())), ["d", "a", "b", "c"]);
        assert_eq!(moved(3, After("a".into())), ["a", "d", "b", "c"]);
        assert_eq!(
            moved(2, After("c".into())),
            Q.to_vec(),
            "relative to itself: no change"
        );
        assert!(move_destination(&Q, 0, &Before("x".into()))
            .unwrap_err()
            .contains("was not found"));
    }
}
