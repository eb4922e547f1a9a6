//! How a worker process is started: the built-in simulated environment (this binary in its
//! `worker` mode) or a bluesky environment (a Python running hutch's own worker package, which
//! this binary carries and writes out, so nothing of hutch's is installed into that Python).

use std::path::{Path, PathBuf};

use tokio::process::Command;

/// Where a bluesky environment's startup code is, as `start-re-manager` takes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Startup {
    /// A profile directory of Python files, run in name order (`--startup-dir`).
    Dir(PathBuf),
    /// One Python file (`--startup-script`).
    Script(PathBuf),
    /// An importable module (`--startup-module`).
    Module(String),
}

impl Startup {
    fn args(&self) -> [std::ffi::OsString; 2] {
        match self {
            Startup::Dir(d) => ["--startup-dir".into(), d.into()],
            Startup::Script(f) => ["--startup-script".into(), f.into()],
            Startup::Module(m) => ["--startup-module".into(), m.into()],
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Startup::Dir(d) => format!("profile directory {}", d.display()),
            Startup::Script(f) => format!("startup script {}", f.display()),
            Startup::Module(m) => format!("startup module {m}"),
        }
    }
}

/// The environment `environment/open` starts.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Environment {
    /// hutch's simulated devices and plans (the default).
    #[default]
    Sim,
    /// A real bluesky RunEngine running the beamline's startup code.
    Bluesky { startup: Startup, python: PathBuf },
}

impl Environment {
    pub fn name(&self) -> &'static str {
        match self {
            Environment::Sim => "sim",
            Environment::Bluesky { .. } => "bluesky",
        }
    }

    /// A short name for screens: `sim`, `bluesky: profile_collection`.
    pub fn short(&self) -> String {
        let last = |p: &Path| {
            p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        };
        match self {
            Environment::Sim => "sim (simulated devices)".into(),
            Environment::Bluesky { startup, .. } => match startup {
                Startup::Dir(d) | Startup::Script(d) => format!("bluesky: {}", last(d)),
                Startup::Module(m) => format!("bluesky: {m}"),
            },
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Environment::Sim => "simulated devices".into(),
            Environment::Bluesky { startup, python } => {
                format!("bluesky, {} with {}", startup.describe(), python.display())
            }
        }
    }
}

/// The worker package's files, compiled into the binary.
const PYTHON_FILES: &[(&str, &str)] = &[
    (
        "__init__.py",
        include_str!("../../python/hutch_worker/__init__.py"),
    ),
    (
        "__main__.py",
        include_str!("../../python/hutch_worker/__main__.py"),
    ),
    (
        "catalog.py",
        include_str!("../../python/hutch_worker/catalog.py"),
    ),
    (
        "channel.py",
        include_str!("../../python/hutch_worker/channel.py"),
    ),
    ("cli.py", include_str!("../../python/hutch_worker/cli.py")),
    (
        "control.py",
        include_str!("../../python/hutch_worker/control.py"),
    ),
    (
        "helpers.py",
        include_str!("../../python/hutch_worker/helpers.py"),
    ),
    (
        "jsonsafe.py",
        include_str!("../../python/hutch_worker/jsonsafe.py"),
    ),
    (
        "runner.py",
        include_str!("../../python/hutch_worker/runner.py"),
    ),
    (
        "startup.py",
        include_str!("../../python/hutch_worker/startup.py"),
    ),
    (
        "stdio.py",
        include_str!("../../python/hutch_worker/stdio.py"),
    ),
    (
        "tasks.py",
        include_str!("../../python/hutch_worker/tasks.py"),
    ),
    (
        "worker.py",
        include_str!("../../python/hutch_worker/worker.py"),
    ),
];

/// Everything needed to start a worker.
#[derive(Clone, Debug)]
pub struct Launch {
    pub environment: Environment,
    /// This binary (the simulated worker).
    pub exe: PathBuf,
    /// Where workers write large data (image frames).
    pub assets: PathBuf,
    /// Where the Python worker package is written (`DATA_DIR/python`).
    pub python_dir: PathBuf,
}

impl Launch {
    /// The command that starts the worker; for bluesky, writes the worker package first.
    pub fn command(&self) -> Result<Command, String> {
        let mut c = self.program()?;
        // Plan code has no business with hutch's own secrets.
        c.env_remove("HUTCH_API_KEY")
            .env_remove("HUTCH_EMERGENCY_LOCK_KEY");
        Ok(c)
    }

    fn program(&self) -> Result<Command, String> {
        match &self.environment {
            Environment::Sim => {
                let mut c = Command::new(&self.exe);
                c.arg("worker").arg("--assets").arg(&self.assets);
                Ok(c)
            }
            Environment::Bluesky { startup, python } => {
                write_package(&self.python_dir).map_err(|e| {
                    format!(
                        "cannot write hutch's Python worker to {}: {e}",
                        self.python_dir.display()
                    )
                })?;
                let mut c = Command::new(python);
                c.arg("-u")
                    .arg("-m")
                    .arg("hutch_worker")
                    .args(startup.args())
                    .arg("--assets")
                    .arg(&self.assets);
                let mut path = std::ffi::OsString::from(&self.python_dir);
                if let Some(old) = std::env::var_os("PYTHONPATH").filter(|p| !p.is_empty()) {
                    path.push(":");
                    path.push(old);
                }
                c.env("PYTHONPATH", path).env("PYTHONUNBUFFERED", "1");
                // Its own process group: Ctrl-C on hutch's terminal must not pause or kill the
                // RunEngine behind hutch's back (hutch stops it itself).
                #[cfg(unix)]
                c.process_group(0);
                Ok(c)
            }
        }
    }

    /// The one-line reason a worker could not be started.
    pub fn spawn_error(&self, e: &std::io::Error) -> String {
        match &self.environment {
            Environment::Bluesky { python, .. } if e.kind() == std::io::ErrorKind::NotFound => {
                format!(
                    "cannot start the Python '{}': not found; set --python (HUTCH_PYTHON) to a Python that has bluesky, ophyd and bluesky-queueserver installed",
                    python.display()
                )
            }
            Environment::Bluesky { python, .. } => {
                format!("cannot start the Python '{}': {e}", python.display())
            }
            Environment::Sim => format!("could not start the worker process: {e}"),
        }
    }
}

/// Writes the package files that differ from what is there (so a running worker's files are
/// replaced only by a newer hutch), each through a temporary file and a rename.
fn write_package(dir: &Path) -> std::io::Result<()> {
    let pkg = dir.join("hutch_worker");
    std::fs::create_dir_all(&pkg)?;
    // Modules an older hutch wrote that this one no longer has would still be importable.
    for entry in std::fs::read_dir(&pkg)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".py") && !PYTHON_FILES.iter().any(|(n, _)| *n == name) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    for (name, text) in PYTHON_FILES {
        let path = pkg.join(name);
        if std::fs::read(&path).is_ok_and(|old| old == text.as_bytes()) {
            continue;
        }
        let tmp = pkg.join(format!(".{name}.{}.tmp", std::process::id()));
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_package_is_written_once_and_kept_current() {
        let dir = tempfile::tempdir().unwrap();
        write_package(dir.path()).unwrap();
        let main = dir.path().join("hutch_worker/__main__.py");
        assert!(std::fs::read_to_string(&main).unwrap().len() > 10);
        std::fs::write(&main, "old").unwrap();
        let stale = dir.path().join("hutch_worker/gone.py");
        std::fs::write(&stale, "old").unwrap();
        write_package(dir.path()).unwrap();
        assert_ne!(std::fs::read_to_string(&main).unwrap(), "old");
        assert!(!stale.exists(), "a module hutch no longer has is removed");
    }

    #[test]
    fn every_file_of_the_package_is_carried() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/hutch_worker");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".py"))
            .collect();
        on_disk.sort();
        let mut carried: Vec<String> = PYTHON_FILES.iter().map(|(n, _)| n.to_string()).collect();
        carried.sort();
        assert_eq!(
            carried, on_disk,
            "list every .py file of server/python/hutch_worker in PYTHON_FILES"
        );
    }

    #[test]
    fn a_missing_python_says_what_to_set() {
        let l = Launch {
            environment: Environment::Bluesky {
                startup: Startup::Dir("/p".into()),
                python: "/nope/python3".into(),
            },
            exe: "/x".into(),
            assets: "/a".into(),
            python_dir: "/d".into(),
        };
        let e = std::io::Error::from(std::io::ErrorKind::NotFound);
        let msg = l.spawn_error(&e);
        assert!(
            msg.contains("/nope/python3") && msg.contains("--python"),
            "{msg}"
        );
    }
}
