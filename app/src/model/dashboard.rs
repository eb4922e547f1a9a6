//! A dashboard's own choices about applets — which are shown, in what order, how big — kept in
//! the browser's `localStorage`, never on the server.
//!
//! Every dashboard has a name: `?dashboard=<name>` in the address (default `default`), so a
//! kiosk (`?dashboard=hutch-kiosk-1`) and a scientist's laptop keep separate choices even in one
//! browser. The state is stored as JSON under [`storage_key`]. An applet the dashboard has not
//! decided about is shown if the applet asks for it (`auto_enable`, from its group's
//! `create_enable` policy); a choice, once made, is kept until the dashboard changes it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::applets::Applet;

/// The `localStorage` key of a dashboard's state.
pub fn storage_key(dashboard: &str) -> String {
    format!("hutch.dashboard.{dashboard}")
}

/// A panel's size in grid cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Size {
    pub w: u8,
    pub h: u8,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DashboardState {
    /// Applet uid → shown. Missing: not decided yet.
    #[serde(default)]
    pub enabled: BTreeMap<String, bool>,
    /// Applet uids in the order this dashboard shows them; others follow, by group and name.
    #[serde(default)]
    pub order: Vec<String>,
    #[serde(default)]
    pub size: BTreeMap<String, Size>,
    /// Applet uid → how many earlier runs to draw beside the live one (overrides the spec).
    #[serde(default)]
    pub overlay: BTreeMap<String, u8>,
    /// Applet uid → a bookmarked run drawn beside the live one.
    #[serde(default)]
    pub compare: BTreeMap<String, String>,
}

impl DashboardState {
    /// Reads a stored state; anything unreadable counts as a fresh dashboard.
    pub fn parse(stored: Option<&str>) -> DashboardState {
        stored
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default()
    }

    pub fn is_shown(&self, applet: &Applet) -> bool {
        self.enabled
            .get(&applet.uid)
            .copied()
            .unwrap_or(applet.auto_enable)
    }

    /// The applets this dashboard shows, in its order.
    pub fn shown<'a>(&self, applets: &'a [Applet]) -> Vec<&'a Applet> {
        let mut shown: Vec<&Applet> = applets.iter().filter(|a| self.is_shown(a)).collect();
        let place = |a: &Applet| {
            self.order
                .iter()
                .position(|u| *u == a.uid)
                .unwrap_or(usize::MAX)
        };
        shown.sort_by(|a, b| (place(a), &a.group, &a.name).cmp(&(place(b), &b.group, &b.name)));
        shown
    }

    pub fn set_shown(&mut self, uid: &str, shown: bool) {
        self.enabled.insert(uid.to_string(), shown);
    }

    /// Moves `uid` to position `index` of this dashboard's order.
    pub fn move_to(&mut self, uid: &str, index: usize) {
        self.order.retain(|u| u != uid);
        let index = index.min(self.order.len());
        self.order.insert(index, uid.to_string());
    }

    /// The panel size (1–3 grid cells each way; default 1 × 1).
    pub fn size_of(&self, uid: &str) -> Size {
        self.size.get(uid).copied().unwrap_or(Size { w: 1, h: 1 })
    }

    /// Forgets applets that no longer exist, so the stored state does not grow forever.
    pub fn prune(&mut self, applets: &[Applet]) {
        let alive = |u: &String| applets.iter().any(|a| &a.uid == u);
        self.enabled.retain(|u, _| alive(u));
        self.order.retain(alive);
        self.size.retain(|u, _| alive(u));
        self.overlay.retain(|u, _| alive(u));
        self.compare.retain(|u, _| alive(u));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::applets::AppletKind;

    fn applet(uid: &str, name: &str, auto_enable: bool) -> Applet {
        Applet {
            uid: uid.into(),
            name: name.into(),
            group: "g".into(),
            kind: AppletKind::Markdown,
            spec: serde_json::json!({"text": name}),
            version: 1,
            updated_by: "t".into(),
            updated_at: "t".into(),
            auto_enable,
        }
    }

    #[test]
    fn each_dashboard_decides_for_itself() {
        let applets = [
            applet("a", "alpha", false),
            applet("b", "beta", true),
            applet("c", "gamma", true),
        ];
        let mut kiosk = DashboardState::parse(None);
        assert_eq!(
            kiosk.shown(&applets).len(),
            2,
            "auto_enable applets show until decided"
        );
        kiosk.set_shown("a", true);
        kiosk.set_shown("b", false);
        kiosk.move_to("c", 0);
        let names: Vec<&str> = kiosk
            .shown(&applets)
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(names, ["gamma", "alpha"]);
        let stored = serde_json::to_string(&kiosk).unwrap();
        assert_eq!(DashboardState::parse(Some(&stored)), kiosk);
        let laptop = DashboardState::parse(Some("garbage"));
        assert_eq!(
            laptop.shown(&applets).len(),
            2,
            "another dashboard is untouched"
        );
        assert_eq!(
            storage_key("hutch-kiosk-1"),
            "hutch.dashboard.hutch-kiosk-1"
        );
        kiosk.prune(&applets[..1]);
        assert_eq!(kiosk.order, Vec::<String>::new());
    }
}
