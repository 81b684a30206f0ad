//! Cases, their context, assertions that fail a case by returning (not panicking), the
//! concurrent runner and the report.
//!
//! A case is a plain `async fn(&dyn Backend, &Ctx) -> CaseResult`, registered with
//! [`case!`](crate::case). It runs once per backend; the same assertions hold on all.

use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Write as _};
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use portico_data::{Backend, DataError};

use crate::tables::Kind;

/// A boxed, sendable future (what a [`CaseFn`] returns).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a case returns: `Ok` when every expectation held.
pub type CaseResult = Result<(), Failure>;

/// A case's body, boxed: see [`case!`](crate::case).
pub type CaseFn = for<'a> fn(&'a dyn Backend, &'a Ctx) -> BoxFuture<'a, CaseResult>;

/// Runs the embedded store's TTL sweeper now (blocking); returns how many items went.
pub type Sweeper = Arc<dyn Fn() -> usize + Send + Sync>;

/// Longest message kept for one failed expectation (items can be 400 KB).
const MAX_MESSAGE: usize = 1500;

/// One case of the suite.
#[derive(Clone, Copy)]
pub struct Case {
    /// `group::name`, as registered.
    pub name: &'static str,
    /// The tables it needs; [`Ctx::table`] names them.
    pub tables: &'static [Kind],
    /// The body.
    pub run: CaseFn,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case")
            .field("name", &self.name)
            .field("tables", &self.tables)
            .finish_non_exhaustive()
    }
}

/// Registers an `async fn(&dyn Backend, &Ctx) -> CaseResult` as a [`Case`] using
/// tables of the given [`Kind`]s: `case!(items::round_trip, [Simple])`.
#[macro_export]
macro_rules! case {
    ($first:ident $(:: $rest:ident)*, [$($kind:ident),* $(,)?]) => {{
        fn run<'a>(
            backend: &'a dyn ::portico_data::Backend,
            ctx: &'a $crate::Ctx,
        ) -> $crate::harness::BoxFuture<'a, $crate::CaseResult> {
            ::std::boxed::Box::pin($first $(:: $rest)*(backend, ctx))
        }
        $crate::Case {
            name: concat!(stringify!($first) $(, "::", stringify!($rest))*),
            tables: &[$($crate::Kind::$kind),*],
            run,
        }
    }};
}

/// Why a case failed: a message and where in the case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// What was expected and what happened.
    pub message: String,
    /// `file:line` of the failed expectation.
    pub location: String,
}

impl Failure {
    /// A failure at `file:line`, its message cut to a readable length.
    pub fn new(message: impl Into<String>, file: &str, line: u32) -> Self {
        Self {
            message: shorten(message.into()),
            location: format!("{file}:{line}"),
        }
    }

    /// A failure at the caller's location.
    #[track_caller]
    pub fn here(message: impl Into<String>) -> Self {
        let location = Location::caller();
        Self::new(message, location.file(), location.line())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at {})", self.message, self.location)
    }
}

fn shorten(mut message: String) -> String {
    if message.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push_str(" …(cut)");
    }
    message
}

/// Turns a backend result into a case result: an unexpected error fails the case,
/// naming the operation and the caller's location.
pub trait Must<T> {
    /// The value, or a [`Failure`] saying `what` failed with which error.
    fn must(self, what: &str) -> Result<T, Failure>;
}

impl<T> Must<T> for Result<T, DataError> {
    #[track_caller]
    fn must(self, what: &str) -> Result<T, Failure> {
        self.map_err(|error| {
            Failure::here(format!(
                "{what}: unexpected error {:?}: {}",
                error.kind(),
                error.message()
            ))
        })
    }
}

/// Fails the case unless the condition holds: `ensure!(cond, "format", args…)`.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err($crate::Failure::new(format!($($arg)+), file!(), line!()));
        }
    };
}

/// Fails the case unless `actual == expected`: `ensure_eq!(actual, expected, "what")`.
#[macro_export]
macro_rules! ensure_eq {
    ($actual:expr, $expected:expr, $($arg:tt)+) => {
        match (&$actual, &$expected) {
            (actual, expected) => {
                if actual != expected {
                    return Err($crate::Failure::new(
                        format!(
                            "{}:\n      expected {:?}\n      actual   {:?}",
                            format!($($arg)+),
                            expected,
                            actual
                        ),
                        file!(),
                        line!(),
                    ));
                }
            }
        }
    };
}

/// Fails the case unless the result is an error of the given
/// [`ErrorKind`](portico_data::ErrorKind) variant; evaluates to the error:
/// `let e = ensure_err!(result, Validation, "what");`.
#[macro_export]
macro_rules! ensure_err {
    ($result:expr, $kind:ident, $($arg:tt)+) => {
        match $result {
            Err(error) if error.kind() == ::portico_data::ErrorKind::$kind => error,
            Err(error) => {
                return Err($crate::Failure::new(
                    format!(
                        "{}: expected a {} error, got {:?}: {}",
                        format!($($arg)+),
                        stringify!($kind),
                        error.kind(),
                        error.message()
                    ),
                    file!(),
                    line!(),
                ));
            }
            Ok(value) => {
                return Err($crate::Failure::new(
                    format!(
                        "{}: expected a {} error, got Ok({:?})",
                        format!($($arg)+),
                        stringify!($kind),
                        value
                    ),
                    file!(),
                    line!(),
                ));
            }
        }
    };
}

/// What a case sees besides the backend: its tables, the backend's name, and hooks.
pub struct Ctx {
    target: &'static str,
    reference: bool,
    tables: BTreeMap<Kind, String>,
    backend: Arc<dyn Backend>,
    sweeper: Option<Sweeper>,
    notes: Mutex<Vec<String>>,
}

impl fmt::Debug for Ctx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("target", &self.target)
            .field("reference", &self.reference)
            .field("tables", &self.tables)
            .finish_non_exhaustive()
    }
}

impl Ctx {
    /// The name of this case's table of kind `kind`.
    ///
    /// # Errors
    /// A failure when the case did not declare that kind in [`case!`](crate::case).
    #[track_caller]
    pub fn table(&self, kind: Kind) -> Result<&str, Failure> {
        self.tables.get(&kind).map(String::as_str).ok_or_else(|| {
            Failure::here(format!(
                "the case uses a {kind:?} table without declaring it in case!"
            ))
        })
    }

    /// The backend under test, shared: for wrappers such as
    /// [`FaultInjecting`](crate::FaultInjecting).
    pub fn backend(&self) -> Arc<dyn Backend> {
        Arc::clone(&self.backend)
    }

    /// The target's name (`embedded`, `dynamodb`).
    pub fn target(&self) -> &'static str {
        self.target
    }

    /// Runs the backend's TTL sweeper now, when it has one to run on demand (the
    /// embedded store); `None` otherwise.
    pub async fn sweep_expired(&self) -> Option<usize> {
        let sweeper = self.sweeper.clone()?;
        tokio::task::spawn_blocking(move || sweeper()).await.ok()
    }

    /// Lets `outcome` (an assertion that follows DynamoDB's documentation) fail on the
    /// reference server only, for a difference verified to be the server's (dynoxide
    /// standing in for DynamoDB), not the dynamodb backend's mapping: there the failure
    /// is recorded as a note (`known reference-server difference: …`) and the case goes
    /// on; on every other target it fails the case as usual.
    ///
    /// # Errors
    /// `outcome`'s failure, unless this target is the reference server.
    pub fn reference_difference(&self, difference: &str, outcome: CaseResult) -> CaseResult {
        match outcome {
            Err(failure) if self.reference => {
                self.note(format!(
                    "known reference-server difference: {difference}; assertion skipped: {}",
                    failure
                        .message
                        .replace('\n', " ")
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                ));
                Ok(())
            }
            other => other,
        }
    }

    /// Adds a line to the report under this case and target.
    pub fn note(&self, text: impl Into<String>) {
        if let Ok(mut notes) = self.notes.lock() {
            notes.push(text.into());
        }
    }

    fn take_notes(&self) -> Vec<String> {
        self.notes
            .lock()
            .map(|mut notes| std::mem::take(&mut *notes))
            .unwrap_or_default()
    }
}

/// A backend to run the suite on.
#[derive(Clone)]
pub struct Target {
    /// Its name in the report.
    pub name: &'static str,
    /// The backend.
    pub backend: Arc<dyn Backend>,
    /// Its on-demand TTL sweeper, if it has one.
    pub sweeper: Option<Sweeper>,
    /// Whether it is the reference server (see [`Ctx::reference_difference`]).
    pub reference: bool,
}

/// A case that fails on a target for a reason already reported: it is shown as
/// `KNOWN-FAIL` instead of failing the run. Passing is then an error ("remove it from
/// the list").
#[derive(Clone, Copy, Debug)]
pub struct KnownFailure {
    /// The case's name.
    pub case: &'static str,
    /// The target's name.
    pub target: &'static str,
    /// Why, with the bug it waits for.
    pub reason: &'static str,
}

/// How one case went on one target.
#[derive(Clone, Debug)]
pub enum Status {
    /// Every expectation held.
    Pass,
    /// An expectation failed (or the case panicked or timed out).
    Fail(String),
    /// It failed, as listed in [`KnownFailure`].
    KnownFail {
        /// The listed reason.
        reason: &'static str,
        /// This run's failure.
        message: String,
    },
    /// It is listed as failing but passed.
    UnexpectedPass {
        /// The listed reason.
        reason: &'static str,
    },
}

impl Status {
    /// Whether this status fails the run.
    pub fn is_failure(&self) -> bool {
        matches!(self, Status::Fail(_) | Status::UnexpectedPass { .. })
    }

    fn cell(&self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail(_) => "FAIL",
            Status::KnownFail { .. } => "known-fail",
            Status::UnexpectedPass { .. } => "FIXED?",
        }
    }
}

/// One case's result on one target.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Pass, fail, ….
    pub status: Status,
    /// Lines the case added ([`Ctx::note`], reference differences).
    pub notes: Vec<String>,
    /// How long it ran.
    pub elapsed: Duration,
}

/// How to run the cases.
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    /// Most cases in flight at once on one target.
    pub concurrency: usize,
    /// Longest a case may run before it is failed.
    pub timeout: Duration,
}

/// Runs every case on `target`, up to `options.concurrency` at once; the outcomes come
/// back in case order whatever order they finished in. `table` names case `i`'s table
/// of a kind.
pub async fn run_cases(
    target: &Target,
    cases: &[Case],
    table: &(dyn Fn(usize, Kind) -> String + Sync),
    known: &[KnownFailure],
    options: RunOptions,
) -> Vec<Outcome> {
    install_panic_capture();
    let permits = Arc::new(tokio::sync::Semaphore::new(options.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut slots: HashMap<tokio::task::Id, usize> = HashMap::new();
    for (index, case) in cases.iter().enumerate() {
        let ctx = Arc::new(Ctx {
            target: target.name,
            reference: target.reference,
            tables: case
                .tables
                .iter()
                .map(|&kind| (kind, table(index, kind)))
                .collect(),
            backend: Arc::clone(&target.backend),
            sweeper: target.sweeper.clone(),
            notes: Mutex::new(Vec::new()),
        });
        let permits = Arc::clone(&permits);
        let run = case.run;
        let timeout = options.timeout;
        let handle = tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let started = Instant::now();
            let backend = ctx.backend();
            let result = tokio::time::timeout(timeout, run(backend.as_ref(), &ctx)).await;
            let status = match result {
                Ok(Ok(())) => Ok(()),
                Ok(Err(failure)) => Err(failure.to_string()),
                Err(_) => Err(format!("timed out after {timeout:?}")),
            };
            (status, ctx.take_notes(), started.elapsed())
        });
        slots.insert(handle.id(), index);
    }
    let mut outcomes: Vec<Option<Outcome>> = vec![None; cases.len()];
    while let Some(joined) = tasks.join_next_with_id().await {
        let (id, (result, notes, elapsed)) = match joined {
            Ok(done) => done,
            Err(error) => {
                let id = error.id();
                let message = if error.is_panic() {
                    format!("panicked: {}", take_panic(id))
                } else {
                    "cancelled".to_owned()
                };
                (id, (Err(message), Vec::new(), Duration::ZERO))
            }
        };
        let Some(&index) = slots.get(&id) else {
            continue;
        };
        let listed = known
            .iter()
            .find(|k| k.case == cases[index].name && k.target == target.name);
        let status = match (result, listed) {
            (Ok(()), None) => Status::Pass,
            (Ok(()), Some(known)) => Status::UnexpectedPass {
                reason: known.reason,
            },
            (Err(message), None) => Status::Fail(message),
            (Err(message), Some(known)) => Status::KnownFail {
                reason: known.reason,
                message,
            },
        };
        outcomes[index] = Some(Outcome {
            status,
            notes,
            elapsed,
        });
    }
    outcomes
        .into_iter()
        .map(|outcome| {
            outcome.unwrap_or(Outcome {
                status: Status::Fail("the case did not report".to_owned()),
                notes: Vec::new(),
                elapsed: Duration::ZERO,
            })
        })
        .collect()
}

/// Panic messages of case tasks, by task: filled by the panic hook, read by the runner.
fn panics() -> &'static Mutex<HashMap<tokio::task::Id, String>> {
    static PANICS: OnceLock<Mutex<HashMap<tokio::task::Id, String>>> = OnceLock::new();
    PANICS.get_or_init(Default::default)
}

/// Keeps the panic output of case tasks out of the report (the runner prints it in
/// order instead); panics elsewhere are printed as usual.
fn install_panic_capture() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let Some(id) = tokio::task::try_id() else {
                previous(info);
                return;
            };
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".to_owned());
            let location = info
                .location()
                .map(|l| format!(" (at {}:{})", l.file(), l.line()))
                .unwrap_or_default();
            if let Ok(mut panics) = panics().lock() {
                panics.insert(id, format!("{message}{location}"));
            }
        }));
    });
}

fn take_panic(id: tokio::task::Id) -> String {
    panics()
        .lock()
        .ok()
        .and_then(|mut panics| panics.remove(&id))
        .map(shorten)
        .unwrap_or_else(|| "(message lost)".to_owned())
}

/// The report: a table of cases by target, then the failures, known failures and notes
/// in case order, and a closing `N passed, N failed` line. Returns the text and whether
/// the run passed.
pub fn report(cases: &[Case], targets: &[&str], outcomes: &[Vec<Outcome>]) -> (String, bool) {
    let mut out = String::new();
    let width = cases.iter().map(|c| c.name.len()).max().unwrap_or(4).max(4);
    let _ = write!(out, "{:width$}", "case");
    for target in targets {
        let _ = write!(out, "  {target:>12}");
    }
    out.push('\n');
    let _ = writeln!(out, "{}", "-".repeat(width + 14 * targets.len()));
    let (mut passed, mut failed, mut known) = (0usize, 0usize, 0usize);
    for (index, case) in cases.iter().enumerate() {
        let _ = write!(out, "{:width$}", case.name);
        for per_target in outcomes {
            let Some(outcome) = per_target.get(index) else {
                let _ = write!(out, "  {:>12}", "-");
                continue;
            };
            let cell = if outcome.notes.is_empty() {
                outcome.status.cell().to_owned()
            } else {
                format!("{}*", outcome.status.cell())
            };
            let _ = write!(out, "  {cell:>12}");
            match outcome.status {
                Status::Pass => passed += 1,
                Status::KnownFail { .. } => known += 1,
                Status::Fail(_) | Status::UnexpectedPass { .. } => failed += 1,
            }
        }
        out.push('\n');
    }
    let _ = writeln!(out, "(* = see the notes below)");

    let mut details = String::new();
    for (index, case) in cases.iter().enumerate() {
        for (target, per_target) in targets.iter().zip(outcomes) {
            let Some(outcome) = per_target.get(index) else {
                continue;
            };
            match &outcome.status {
                Status::Pass => {}
                Status::Fail(message) => {
                    let _ = writeln!(details, "FAIL {} [{target}]: {message}", case.name);
                }
                Status::KnownFail { reason, message } => {
                    let _ = writeln!(
                        details,
                        "known-fail {} [{target}]: {reason}\n      this run: {message}",
                        case.name
                    );
                }
                Status::UnexpectedPass { reason } => {
                    let _ = writeln!(
                        details,
                        "FIXED? {} [{target}] passes but is listed as known failing \
                         ({reason}): remove it from KNOWN_FAILING",
                        case.name
                    );
                }
            }
            for note in &outcome.notes {
                let _ = writeln!(details, "note {} [{target}]: {note}", case.name);
            }
        }
    }
    if !details.is_empty() {
        out.push('\n');
        out.push_str(&details);
    }
    let _ = writeln!(
        out,
        "\nconformance: {passed} passed, {failed} failed, {known} known failing \
         ({} cases x {} backends)",
        cases.len(),
        targets.len()
    );
    let _ = writeln!(out, "{passed} passed, {failed} failed");
    (out, failed == 0)
}
