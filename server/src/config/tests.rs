//! Tests of configuration resolution: which source wins, the XDG defaults, the environment's
//! startup code, and the errors for a bad or missing file.

use super::*;
use std::collections::HashMap;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn defaults_follow_xdg() {
    let c = Config::resolve(ServeArgs::default(), &env_of(&[("HOME", "/home/ann")])).unwrap();
    assert_eq!(c.bind.to_string(), "127.0.0.1:60610");
    assert_eq!(c.data_dir, PathBuf::from("/home/ann/.local/share/hutch"));
    assert_eq!(
        c.database,
        PathBuf::from("/home/ann/.local/share/hutch/hutch.db")
    );
    let c = Config::resolve(
        ServeArgs::default(),
        &env_of(&[("HOME", "/home/ann"), ("XDG_DATA_HOME", "/data")]),
    )
    .unwrap();
    assert_eq!(c.data_dir, PathBuf::from("/data/hutch"));
}

#[test]
fn flags_beat_the_file_and_the_file_beats_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hutch.toml");
    std::fs::write(
        &file,
        "bind = \"0.0.0.0:7000\"\ndata_dir = \"/srv/hutch\"\n",
    )
    .unwrap();
    let args = ServeArgs {
        config: Some(file.clone()),
        data_dir: Some("/flag".into()),
        ..Default::default()
    };
    let c = Config::resolve(args, &env_of(&[])).unwrap();
    assert_eq!(c.data_dir, PathBuf::from("/flag"), "flag wins over file");
    assert_eq!(c.bind.to_string(), "0.0.0.0:7000", "file wins over default");
    assert_eq!(c.database, PathBuf::from("/flag/hutch.db"));
}

#[test]
fn the_bluesky_environment_needs_exactly_one_startup() {
    use crate::worker::launch::{Environment, Startup};
    let env = env_of(&[("HOME", "/h")]);
    let c = Config::resolve(ServeArgs::default(), &env).unwrap();
    assert_eq!(c.environment, Environment::Sim);
    let args = ServeArgs {
        environment: Some("bluesky".into()),
        startup_dir: Some("/profile".into()),
        ..Default::default()
    };
    let c = Config::resolve(args, &env).unwrap();
    assert_eq!(
        c.environment,
        Environment::Bluesky {
            startup: Startup::Dir("/profile".into()),
            python: "python3".into()
        }
    );
    assert!(c.to_toml().contains("startup_dir = \"/profile\""));
    let none = ServeArgs {
        environment: Some("bluesky".into()),
        ..Default::default()
    };
    let err = Config::resolve(none, &env).unwrap_err().to_string();
    assert!(err.contains("--startup-dir"), "{err}");
    let two = ServeArgs {
        environment: Some("bluesky".into()),
        startup_dir: Some("/p".into()),
        startup_module: Some("m".into()),
        ..Default::default()
    };
    assert!(Config::resolve(two, &env).is_err());
    let sim_with_dir = ServeArgs {
        startup_dir: Some("/p".into()),
        ..Default::default()
    };
    assert!(Config::resolve(sim_with_dir, &env).is_err());
    let odd = ServeArgs {
        environment: Some("epics".into()),
        ..Default::default()
    };
    assert!(Config::resolve(odd, &env).is_err());
    // The file's startup code gives way to a flag's as a whole.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hutch.toml");
    std::fs::write(
        &file,
        "environment = \"bluesky\"\nstartup_dir = \"/from/file\"\npython = \"/venv/bin/python\"\n",
    )
    .unwrap();
    let args = ServeArgs {
        config: Some(file),
        startup_module: Some("beamline.startup".into()),
        ..Default::default()
    };
    let c = Config::resolve(args, &env).unwrap();
    assert_eq!(
        c.environment,
        Environment::Bluesky {
            startup: Startup::Module("beamline.startup".into()),
            python: "/venv/bin/python".into()
        }
    );
}

#[test]
fn a_typo_in_the_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hutch.toml");
    std::fs::write(&file, "bnd = \"0.0.0.0:7000\"\n").unwrap();
    let args = ServeArgs {
        config: Some(file),
        ..Default::default()
    };
    let err = Config::resolve(args, &env_of(&[("HOME", "/h")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `bnd`"), "{err}");
}

#[test]
fn a_missing_explicit_config_file_is_an_error() {
    let args = ServeArgs {
        config: Some("/nonexistent/hutch.toml".into()),
        ..Default::default()
    };
    let err = Config::resolve(args, &env_of(&[("HOME", "/h")]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot read config file /nonexistent/hutch.toml"),
        "{err}"
    );
}

#[test]
fn no_home_and_no_data_dir_says_what_to_do() {
    let err = Config::resolve(ServeArgs::default(), &env_of(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("--data-dir"), "{err}");
}
