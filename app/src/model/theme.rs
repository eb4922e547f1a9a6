//! The colour theme a dashboard chose: follow the system (`prefers-color-scheme`), or always
//! light or dark. Pure; the browser keeps the choice (see `crate::theme`).

/// What the switch offers, in the order it cycles through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ThemeChoice {
    #[default]
    Auto,
    Light,
    Dark,
}

impl ThemeChoice {
    /// As kept in the browser's storage and on `<html data-theme>` (`auto` sets no attribute).
    pub fn as_str(self) -> &'static str {
        match self {
            ThemeChoice::Auto => "auto",
            ThemeChoice::Light => "light",
            ThemeChoice::Dark => "dark",
        }
    }

    /// Anything unknown (an older or hand-edited value) is `Auto`.
    pub fn parse(s: &str) -> ThemeChoice {
        match s {
            "light" => ThemeChoice::Light,
            "dark" => ThemeChoice::Dark,
            _ => ThemeChoice::Auto,
        }
    }

    pub fn next(self) -> ThemeChoice {
        match self {
            ThemeChoice::Auto => ThemeChoice::Light,
            ThemeChoice::Light => ThemeChoice::Dark,
            ThemeChoice::Dark => ThemeChoice::Auto,
        }
    }

    /// The switch's label: what is in effect now.
    pub fn label(self) -> &'static str {
        match self {
            ThemeChoice::Auto => "Theme: system",
            ThemeChoice::Light => "Theme: light",
            ThemeChoice::Dark => "Theme: dark",
        }
    }

    /// Whether pages are dark, given whether the system prefers dark.
    pub fn is_dark(self, system_dark: bool) -> bool {
        match self {
            ThemeChoice::Auto => system_dark,
            ThemeChoice::Light => false,
            ThemeChoice::Dark => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switch_cycles_and_its_value_reads_back() {
        let mut c = ThemeChoice::Auto;
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.push(c);
            assert_eq!(ThemeChoice::parse(c.as_str()), c);
            c = c.next();
        }
        assert_eq!(c, ThemeChoice::Auto, "back to the start after three");
        assert_eq!(
            seen,
            [ThemeChoice::Auto, ThemeChoice::Light, ThemeChoice::Dark]
        );
        assert_eq!(ThemeChoice::parse("purple"), ThemeChoice::Auto);
        assert!(ThemeChoice::Auto.is_dark(true) && !ThemeChoice::Auto.is_dark(false));
        assert!(!ThemeChoice::Light.is_dark(true) && ThemeChoice::Dark.is_dark(false));
    }
}
