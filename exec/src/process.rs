//! Running the repository's declared commands: each in its own process group
//! (a timeout ends the command and everything it started), with only the
//! environment variables it declares, its output in a log file.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Variables every command gets; everything else must be declared.
const BASE_ENV: [&str; 3] = ["PATH", "HOME", "LANG"];

/// What to run.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The program (for a `run` string: `sh`).
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Where it runs.
    pub cwd: PathBuf,
    /// The declared variable names it may see (values from this process).
    pub env: Vec<String>,
    /// Extra variables set by ci-medic itself (reporter paths).
    pub set: Vec<(String, String)>,
    /// Its time limit.
    pub timeout: Duration,
    /// Where its stdout and stderr go.
    pub log: PathBuf,
}

impl Spec {
    /// A repository's `run = "…"` command, run by `sh -c`.
    pub fn shell(
        run: &str,
        cwd: PathBuf,
        env: Vec<String>,
        timeout: Duration,
        log: PathBuf,
    ) -> Spec {
        Spec {
            program: "sh".into(),
            args: vec!["-c".into(), run.to_owned()],
            cwd,
            env,
            set: Vec::new(),
            timeout,
            log,
        }
    }

    fn command(&self) -> std::io::Result<Command> {
        if let Some(dir) = self.log.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let out = File::create(&self.log)?;
        let err = out.try_clone()?;
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .current_dir(&self.cwd)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        for name in BASE_ENV
            .iter()
            .copied()
            .chain(self.env.iter().map(String::as_str))
        {
            if let Some(v) = std::env::var_os(name) {
                cmd.env(name, v);
            }
        }
        cmd.envs(self.set.iter().map(|(k, v)| (k, v)));
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt as _;
            cmd.process_group(0);
        }
        Ok(cmd)
    }
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Its exit code (none when a signal ended it).
    pub exit_code: Option<i32>,
    /// It ran past its time limit and its process group was killed.
    pub timed_out: bool,
    /// How long it ran.
    pub duration: Duration,
}

impl Outcome {
    /// Exited 0 in time.
    pub fn ok(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out
    }
}

/// Runs `spec` to completion or its time limit (and no later than `deadline`),
/// then ends whatever the command left running in its group.
pub fn run(spec: &Spec, deadline: Instant) -> std::io::Result<Outcome> {
    let started = Instant::now();
    let limit = (started + spec.timeout).min(deadline);
    let mut child = spec.command()?.spawn().map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot start {}: {e}", spec.program))
    })?;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break Some(s);
        }
        if Instant::now() >= limit {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let timed_out = status.is_none();
    kill_group(&mut child, Duration::from_secs(2));
    let status = match status {
        Some(s) => Some(s),
        None => child.wait().ok(),
    };
    Ok(Outcome {
        exit_code: if timed_out {
            None
        } else {
            status.and_then(|s| s.code())
        },
        timed_out,
        duration: started.elapsed(),
    })
}

/// A command left running (an app started by `restart_app`), stopped with its
/// whole process group on drop.
#[derive(Debug)]
pub struct Background {
    child: Child,
}

impl Background {
    /// Starts `spec` and leaves it running.
    pub fn start(spec: &Spec) -> std::io::Result<Background> {
        let child = spec.command()?.spawn().map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot start {}: {e}", spec.program))
        })?;
        Ok(Background { child })
    }

    /// Whether it already exited.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        kill_group(&mut self.child, Duration::from_secs(2));
        let _ = self.child.wait();
    }
}

/// SIGTERM to the child's group, SIGKILL after `grace`.
fn kill_group(child: &mut Child, grace: Duration) {
    #[cfg(unix)]
    {
        use nix::sys::signal::{Signal, killpg};
        use nix::unistd::Pid;
        let Ok(pid) = i32::try_from(child.id()) else {
            return;
        };
        if pid <= 1 {
            return;
        }
        let group = Pid::from_raw(pid);
        if killpg(group, Signal::SIGTERM).is_err() {
            return; // the group is gone
        }
        let until = Instant::now() + grace;
        while Instant::now() < until {
            // The group is gone once no member is left to signal.
            if killpg(group, None).is_err() {
                return;
            }
            let _ = child.try_wait();
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = killpg(group, Signal::SIGKILL);
    }
    #[cfg(not(unix))]
    {
        let _ = child.kill();
    }
}

/// Polls `url` until it answers 2xx or `until`; stops early when the app exits.
pub fn wait_for_health(
    url: &str,
    until: Instant,
    mut app: Option<&mut Background>,
) -> Result<Duration, String> {
    let started = Instant::now();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| e.to_string())?;
    loop {
        let last = match client.get(url).send() {
            Ok(r) if r.status().is_success() => return Ok(started.elapsed()),
            Ok(r) => format!("answered {}", r.status().as_u16()),
            Err(e) if e.is_connect() => "connection refused".to_owned(),
            Err(_) => "no answer".to_owned(),
        };
        if let Some(app) = app.as_deref_mut()
            && app.exited()
        {
            return Err(format!("the app exited before {url} answered ({last})"));
        }
        if Instant::now() >= until {
            return Err(format!("{url} did not answer 2xx in time ({last})"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The last `n` lines of a log, redacted.
pub fn tail(log: &Path, n: usize, redactor: &ci_medic_core::collect::redact::Redactor) -> String {
    let text = std::fs::read(log)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(n);
    redactor.redact(&lines[from..].join("\n")).into_owned()
}

/// A loopback port nothing listens on, for a server that is started (or kept
/// down) only after the port is chosen.
///
/// Taken below the kernel's ephemeral range: a port from `bind(:0)` is free
/// only a moment, and any process that binds port 0 or connects out (browsers,
/// other servers) may take it before the server binds it. Below the range only
/// another explicit bind can, and the start point differs per process and call.
pub fn loopback_port() -> std::io::Result<u16> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let (low, span) = (10_000, ephemeral_start() - 10_000);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let seed = std::process::id()
        .wrapping_mul(7_919)
        .wrapping_add(CALLS.fetch_add(1, Ordering::Relaxed).wrapping_mul(104_729))
        .wrapping_add(nanos);
    let mut last = None;
    for i in 0..span {
        let port = (low + seed.wrapping_add(i) % span) as u16;
        match std::net::TcpListener::bind(("127.0.0.1", port)) {
            Ok(_) => return Ok(port),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no loopback port to try")))
}

/// Where the kernel's ephemeral ports start (Linux's default when unknown).
fn ephemeral_start() -> u32 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u32>().ok())
        .filter(|&start| start > 12_000)
        .unwrap_or(32_768)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(run: &str, dir: &Path, timeout_ms: u64) -> Spec {
        Spec::shell(
            run,
            dir.to_owned(),
            vec!["CI_MEDIC_TEST_DECLARED".into()],
            Duration::from_millis(timeout_ms),
            dir.join("log.txt"),
        )
    }

    #[test]
    fn a_timeout_ends_the_whole_group() {
        let tmp = tempfile::tempdir().expect("tmp");
        // The shell starts a grandchild that would outlive it.
        let s = spec("(sleep 30; touch survived) & sleep 30", tmp.path(), 300);
        let o = run(&s, Instant::now() + Duration::from_secs(60)).expect("run");
        assert!(o.timed_out && o.exit_code.is_none() && !o.ok());
        assert!(o.duration < Duration::from_secs(5), "{o:?}");
        std::thread::sleep(Duration::from_millis(300));
        let out = std::process::Command::new("pgrep")
            .args(["-f", "sleep 30; touch survived"])
            .output()
            .expect("pgrep");
        assert!(out.stdout.is_empty(), "a grandchild survived");
    }

    #[test]
    fn commands_see_only_declared_variables() {
        let tmp = tempfile::tempdir().expect("tmp");
        // Cargo sets both for the test process; only one is declared.
        let mut s = spec(
            "echo \"d=$CARGO_MANIFEST_DIR u=$CARGO_PKG_NAME s=$SET_BY_CI_MEDIC\"; exit 3",
            tmp.path(),
            5000,
        );
        s.env = vec!["CARGO_MANIFEST_DIR".into()];
        s.set = vec![("SET_BY_CI_MEDIC".into(), "yes".into())];
        let o = run(&s, Instant::now() + Duration::from_secs(60)).expect("run");
        assert_eq!(o.exit_code, Some(3));
        let log = std::fs::read_to_string(tmp.path().join("log.txt")).expect("log");
        assert_eq!(
            log.trim(),
            format!("d={} u= s=yes", env!("CARGO_MANIFEST_DIR"))
        );
    }

    #[test]
    fn a_loopback_port_is_below_the_ephemeral_range_and_free() {
        let start = ephemeral_start();
        let ports: Vec<u16> = (0..20).map(|_| loopback_port().expect("a port")).collect();
        for &port in &ports {
            assert!(
                (10_000..start).contains(&u32::from(port)),
                "{port} is not below the ephemeral range starting at {start}"
            );
            std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port is free");
        }
        let mut distinct = ports.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(distinct.len() > 1, "every call gave {}", ports[0]);
    }
}
