//! Colour scales for heatmaps.

use plotters::style::RGBColor;

/// A colour scale, from an applet's `colormap`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Colormap {
    #[default]
    Viridis,
    Gray,
    Inferno,
}

impl Colormap {
    /// From an applet's `colormap`; unknown names fall back to viridis.
    pub fn named(name: Option<&str>) -> Colormap {
        match name.map(str::to_ascii_lowercase).as_deref() {
            Some("gray" | "grey" | "greys") => Colormap::Gray,
            Some("inferno" | "magma" | "hot") => Colormap::Inferno,
            _ => Colormap::Viridis,
        }
    }

    pub const NAMES: [&'static str; 3] = ["viridis", "gray", "inferno"];

    /// The colour at `t` in [0, 1] (clamped).
    pub fn color(self, t: f64) -> RGBColor {
        const VIRIDIS: [(u8, u8, u8); 9] = [
            (68, 1, 84),
            (71, 44, 122),
            (59, 81, 139),
            (44, 113, 142),
            (33, 144, 141),
            (39, 173, 129),
            (92, 200, 99),
            (170, 220, 50),
            (253, 231, 37),
        ];
        const INFERNO: [(u8, u8, u8); 9] = [
            (0, 0, 4),
            (31, 12, 72),
            (85, 15, 109),
            (136, 34, 106),
            (186, 54, 85),
            (227, 89, 51),
            (249, 140, 10),
            (249, 201, 50),
            (252, 255, 164),
        ];
        let t = if t.is_finite() {
            t.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let stops = match self {
            Colormap::Gray => {
                let v = (t * 255.0).round() as u8;
                return RGBColor(v, v, v);
            }
            Colormap::Viridis => &VIRIDIS,
            Colormap::Inferno => &INFERNO,
        };
        let pos = t * (stops.len() - 1) as f64;
        let i = (pos.floor() as usize).min(stops.len() - 2);
        let f = pos - i as f64;
        let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
        let (a, b) = (stops[i], stops[i + 1]);
        RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }
}
