//! Tests of `chart`.

use super::*;

#[test]
fn colormaps_run_from_dark_to_light_and_clamp() {
    for map in [Colormap::Viridis, Colormap::Gray, Colormap::Inferno] {
        let lum = |c: RGBColor| c.0 as u32 + c.1 as u32 + c.2 as u32;
        assert!(lum(map.color(0.0)) < lum(map.color(1.0)), "{map:?}");
        assert_eq!(map.color(-3.0), map.color(0.0));
        assert_eq!(map.color(f64::NAN), map.color(0.0));
    }
    assert_eq!(Colormap::named(Some("Grey")), Colormap::Gray);
    assert_eq!(Colormap::named(Some("jet")), Colormap::Viridis);
}
