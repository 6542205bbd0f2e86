//! A real PostgreSQL for the tests: one server per test binary, started on first use, and a
//! fresh database for each test (creating a database takes milliseconds, starting a server
//! seconds).
//!
//! The server comes from Debian's `postgresql` package (binaries in
//! `/usr/lib/postgresql/<major>/bin`, the newest major wins; `PROMPTDESK_PG_BINDIR` overrides,
//! and `initdb` on PATH is used as a last resort). Its data directory, log and unix socket live
//! in a private temporary directory; it listens on a free 127.0.0.1 port. `initdb` refuses to
//! run as root, so as root the server runs as the `postgres` system user (or, failing that, a
//! dedicated unprivileged user this harness creates), with the directory handed to that user.
//!
//! No PostgreSQL is a failure, never a skip: CI installs the package (`.ci/install-deps.sh`).
//!
//! A second instance, [`tls_instance`], has `ssl = on` with a server certificate for
//! `localhost` signed by a CA the harness makes (see [`TlsFiles`]); the first stays plain.
//!
//! The instance lives in a static and statics are never dropped, so a keeper process stops it
//! and removes the directory: a shell that blocks reading a pipe from this process and acts when
//! the pipe closes, which happens however this process ends (even when it is killed).

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Certificates made for the TLS instance (and by other TLS tests).
#[path = "pki.rs"]
pub mod pki;

pub struct Instance {
    pub port: u16,
    /// Whether new databases get an ICU (en-US) default collation, under which names sort
    /// unlike SQLite's bytes: what the store's own `COLLATE "C"` must undo.
    pub icu: bool,
    admin: Mutex<postgres::Client>,
    /// The certificate authorities of a TLS instance.
    pub tls: Option<TlsFiles>,
    _keeper: Keeper,
}

/// What a TLS instance's clients need: the CA that signed the server's certificate (valid for
/// `localhost` only, not for `127.0.0.1`), and another CA that signed nothing of it.
pub struct TlsFiles {
    pub ca: PathBuf,
    pub other_ca: PathBuf,
}

struct Keeper {
    _child: Child,
    /// Closed when this process exits, which tells the keeper to stop the server.
    _pipe: ChildStdin,
}

/// One database of the test instance, dropped (its connections closed) when this is dropped.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pg: &'static Instance,
}

impl TestDb {
    pub fn create() -> TestDb {
        TestDb::create_on(instance())
    }

    /// A database on `pg` (the plain instance, or [`tls_instance`]).
    pub fn create_on(pg: &'static Instance) -> TestDb {
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        pg.admin_execute(&format!("CREATE DATABASE {name}"));
        TestDb {
            url: pg.url(&name),
            name,
            pg,
        }
    }

    /// Whether every connection to this database is encrypted, and how many there are.
    pub fn connections_encrypted(&self) -> (bool, i64) {
        let row = self
            .pg
            .lock_admin()
            .query_one(
                "SELECT coalesce(bool_and(s.ssl), false), count(*) FROM pg_stat_activity a
                 JOIN pg_stat_ssl s ON s.pid = a.pid WHERE a.datname = $1",
                &[&self.name],
            )
            .unwrap_or_else(|e| panic!("pg_stat_ssl: {}", describe(&e)));
        (row.get(0), row.get(1))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // FORCE closes what the stores still hold open (a failed test may leak a store). Not
        // dropping would only cost disk until the instance goes, so a failure here is a note.
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = self.pg.lock_admin().batch_execute(&sql) {
            eprintln!("note: could not drop test database {}: {e}", self.name);
        }
    }
}

impl Instance {
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn lock_admin(&self) -> std::sync::MutexGuard<'_, postgres::Client> {
        // A test that panicked while holding it left the connection usable.
        self.admin.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `sql` on the `postgres` database as the superuser, panicking with the reason.
    pub fn admin_execute(&self, sql: &str) {
        if let Err(e) = self.lock_admin().batch_execute(sql) {
            panic!("{sql}: {}", describe(&e));
        }
    }
}

fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => format!("{e}: {:?}", std::error::Error::source(e)),
    }
}

/// The instance of this test binary, started on first use.
pub fn instance() -> &'static Instance {
    static INSTANCE: OnceLock<std::result::Result<Instance, String>> = OnceLock::new();
    match INSTANCE.get_or_init(|| start(false)) {
        Ok(i) => i,
        Err(e) => panic!("{e}"),
    }
}

/// An instance with `ssl = on` (its certificates in [`Instance::tls`]), started on first use.
pub fn tls_instance() -> &'static Instance {
    static INSTANCE: OnceLock<std::result::Result<Instance, String>> = OnceLock::new();
    match INSTANCE.get_or_init(|| start(true)) {
        Ok(i) => i,
        Err(e) => panic!("{e}"),
    }
}

/// Where `initdb`, `pg_ctl` and `postgres` are.
fn bindir() -> std::result::Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("PROMPTDESK_PG_BINDIR") {
        let dir = PathBuf::from(dir);
        if !dir.join("initdb").is_file() {
            return Err(format!(
                "PROMPTDESK_PG_BINDIR is {}, which holds no initdb",
                dir.display()
            ));
        }
        return Ok(dir);
    }
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .collect();
    majors.sort();
    if let Some((_, bin)) = majors.pop() {
        return Ok(bin);
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file());
    on_path.ok_or_else(|| {
        "PostgreSQL is not installed, and the server suite runs every test against it too: \
         install Debian's `postgresql` package (`apt-get install -y postgresql`; \
         .ci/install-deps.sh does), or point PROMPTDESK_PG_BINDIR at a directory holding \
         initdb and pg_ctl"
            .to_string()
    })
}

/// Who runs the server: nobody else when we are not root; as root, an unprivileged user.
fn server_user() -> std::result::Result<Option<String>, String> {
    let uid = command_output(Command::new("id").arg("-u"))?;
    if uid.trim() != "0" {
        return Ok(None);
    }
    for user in ["postgres", "promptdesk-pg"] {
        if Command::new("id")
            .arg("-u")
            .arg(user)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            return Ok(Some(user.into()));
        }
    }
    // No `postgres` user (PostgreSQL installed some other way): make one that can do nothing
    // else.
    command_output(Command::new("useradd").args([
        "--system",
        "--user-group",
        "--no-create-home",
        "promptdesk-pg",
    ]))
    .map_err(|e| {
        format!("running as root, and there is no `postgres` user to run PostgreSQL as: {e}")
    })?;
    Ok(Some("promptdesk-pg".into()))
}

fn command_output(cmd: &mut Command) -> std::result::Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    if !out.status.success() {
        return Err(format!(
            "{:?} failed ({}): {}{}",
            cmd,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `program` from `bin`, run as `user` when there is one.
fn as_user(user: &Option<String>, bin: &Path, program: &str) -> Command {
    let path = bin.join(program);
    let mut cmd = match user {
        // setpriv execs the program itself (runuser would stay as its parent).
        Some(u) => {
            let mut c = Command::new("setpriv");
            c.arg(format!("--reuid={u}"))
                .arg(format!("--regid={u}"))
                .arg("--init-groups")
                .arg("--")
                .arg(path);
            c
        }
        None => Command::new(path),
    };
    // The server user may not be able to enter the current directory (root's home).
    cmd.current_dir(std::env::temp_dir());
    cmd
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

fn start(tls: bool) -> std::result::Result<Instance, String> {
    let bin = bindir()?;
    let user = server_user()?;
    let dir = std::env::temp_dir().join(format!(
        "promptdesk-pg-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot restrict {}: {e}", dir.display()))?;
    }
    // From here on the keeper owns the directory: it removes it, and stops the server if one
    // started, when this process ends (also when starting fails below).
    let keeper = keeper(&dir, &bin, &user)?;
    let owner = match &user {
        Some(u) => {
            let id = |flag: &str| -> std::result::Result<u32, String> {
                command_output(Command::new("id").arg(flag).arg(u))?
                    .trim()
                    .parse()
                    .map_err(|e| format!("id {flag} {u}: {e}"))
            };
            Some((id("-u")?, id("-g")?))
        }
        None => None,
    };
    let hand_over = |path: &Path| -> std::result::Result<(), String> {
        match owner {
            Some((uid, gid)) => std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .map_err(|e| format!("cannot hand {} to the server user: {e}", path.display())),
            None => Ok(()),
        }
    };
    hand_over(&dir)?;
    let data = dir.join("data");

    let version = command_output(as_user(&user, &bin, "postgres").arg("--version"))?;
    let major: u32 = version
        .split_whitespace()
        .find_map(|w| w.split('.').next()?.parse().ok())
        .ok_or_else(|| format!("cannot read the PostgreSQL version from {version:?}"))?;

    // A C locale for the cluster, with UTF-8 (C alone would mean SQL_ASCII, which the store
    // refuses). From 15 on, databases default to an ICU collation: names then sort unlike
    // SQLite, which the tests use to check that the store orders by bytes whatever the database.
    let mut initdb = as_user(&user, &bin, "initdb");
    initdb
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"])
        // A throwaway cluster: nothing needs to survive a crash.
        .arg("--no-sync");
    let icu = major >= 15;
    if icu {
        initdb.args(["--locale-provider=icu", "--icu-locale=en-US"]);
    }
    command_output(&mut initdb)?;

    let conf = format!(
        "\n# promptdesk tests\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
         fsync = off\nfull_page_writes = off\nmax_connections = 300\n",
        dir.display()
    );
    std::fs::OpenOptions::new()
        .append(true)
        .open(data.join("postgresql.conf"))
        .and_then(|mut f| f.write_all(conf.as_bytes()))
        .map_err(|e| format!("cannot configure {}: {e}", data.display()))?;
    let tls = if tls {
        Some(configure_tls(&dir, &data, &hand_over)?)
    } else {
        None
    };

    // The port is free when picked but may be taken before the server binds it; try another.
    let log = dir.join("server.log");
    let mut last = String::new();
    for _ in 0..5 {
        let port = free_port();
        let started = command_output(
            as_user(&user, &bin, "pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "60", "-o"])
                .arg(format!("-p {port}"))
                .arg("start"),
        );
        match started {
            Ok(_) => {
                let mut config = postgres::Config::new();
                config.user("postgres").dbname("postgres").port(port);
                if tls.is_some() {
                    // TCP takes TLS only; the harness's own connection needs no certificate.
                    config.host_path(&dir);
                } else {
                    config.host("127.0.0.1");
                }
                let admin = connect_admin(&config)?;
                return Ok(Instance {
                    port,
                    icu,
                    admin: Mutex::new(admin),
                    tls,
                    _keeper: keeper,
                });
            }
            Err(e) => {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                last = format!("{e}\nserver log:\n{text}");
                if !text.contains("could not bind") && !text.contains("in use") {
                    break;
                }
            }
        }
    }
    Err(format!("PostgreSQL did not start: {last}"))
}

/// `ssl = on` with a certificate for `localhost` from a CA made here (the server insists that
/// its key belongs to it and is readable by it alone), and only encrypted connections over
/// TCP; the admin connection comes over the unix socket.
fn configure_tls(
    dir: &Path,
    data: &Path,
    hand_over: &dyn Fn(&Path) -> std::result::Result<(), String>,
) -> std::result::Result<TlsFiles, String> {
    use std::os::unix::fs::PermissionsExt;
    let ca = pki::Ca::new(dir, "pg");
    let other = pki::Ca::new(dir, "stranger");
    let leaf = ca.issue(data, "server", &["localhost"]);
    for file in [&leaf.cert, &leaf.key] {
        hand_over(file)?;
    }
    std::fs::set_permissions(&leaf.key, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot restrict {}: {e}", leaf.key.display()))?;
    let conf = "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n";
    std::fs::OpenOptions::new()
        .append(true)
        .open(data.join("postgresql.conf"))
        .and_then(|mut f| f.write_all(conf.as_bytes()))
        .map_err(|e| format!("cannot configure TLS in {}: {e}", data.display()))?;
    // Rules match in order: TCP only with TLS, before initdb's rules that take both.
    let hba = data.join("pg_hba.conf");
    let rules =
        std::fs::read_to_string(&hba).map_err(|e| format!("cannot read {}: {e}", hba.display()))?;
    let rules = format!(
        "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n\
         hostnossl all all 0.0.0.0/0 reject\nhostnossl all all ::/0 reject\n{rules}"
    );
    std::fs::write(&hba, rules).map_err(|e| format!("cannot write {}: {e}", hba.display()))?;
    Ok(TlsFiles {
        ca: ca.pem.clone(),
        other_ca: other.pem.clone(),
    })
}

fn connect_admin(config: &postgres::Config) -> std::result::Result<postgres::Client, String> {
    // pg_ctl -w has seen the server accept connections; a short retry covers the socket
    // becoming ready an instant later on TCP.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match config.connect(postgres::NoTls) {
            Ok(c) => return Ok(c),
            Err(e) if Instant::now() > deadline => {
                return Err(format!(
                    "cannot connect to the test PostgreSQL: {}",
                    describe(&e)
                ))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// The process that stops the server and removes `dir` once this process is gone.
fn keeper(dir: &Path, bin: &Path, user: &Option<String>) -> std::result::Result<Keeper, String> {
    use std::os::unix::process::CommandExt;
    let stop = as_user(user, bin, "pg_ctl");
    let mut stop_words: Vec<String> = vec![stop.get_program().to_string_lossy().into_owned()];
    stop_words.extend(stop.get_args().map(|a| a.to_string_lossy().into_owned()));
    stop_words.extend([
        "-D".into(),
        dir.join("data").display().to_string(),
        // The data is thrown away: no shutdown checkpoint.
        "-m".into(),
        "immediate".into(),
        "stop".into(),
    ]);
    let script = format!(
        // cat returns when the pipe closes; then stop (it may never have started) and remove.
        "cat >/dev/null; if [ -f {data}/postmaster.pid ]; then {stop} >/dev/null 2>&1; fi; rm -rf {dir}",
        data = quote(&dir.join("data").display().to_string()),
        stop = stop_words
            .iter()
            .map(|w| quote(w))
            .collect::<Vec<_>>()
            .join(" "),
        dir = quote(&dir.display().to_string()),
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group: a Ctrl-C at the terminal stops the tests, not the cleanup.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start the keeper shell: {e}"))?;
    let pipe = child.stdin.take().expect("piped stdin");
    Ok(Keeper {
        _child: child,
        _pipe: pipe,
    })
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}
