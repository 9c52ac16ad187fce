//! `nexus tenant import`: an import of a tenant's users run from the
//! command line, with its progress shown as it goes. The job is the one
//! `POST /v1/idp_tenants/{id}/imports` records; this process runs the
//! import worker until the job ends (a server over the same database may
//! take part: the progress is the job's, wherever it runs).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use nexus_core::import::{ImportJob, StartImportBody};
use nexus_core::Actor;
use nexus_service::imports::{self, ImportConfig};
use nexus_service::Nexus;

/// What the command was asked.
pub struct ImportArgs {
    pub tenant: String,
    pub organization: String,
    pub dry_run: bool,
    /// Draw the progress bar (a terminal); otherwise a line per update.
    pub bar: bool,
}

/// Runs the import to its end; the job as it ended.
pub async fn run(nexus: Nexus, args: ImportArgs) -> anyhow::Result<ImportJob> {
    let body = StartImportBody {
        organization: Some(args.organization),
    };
    let actor = Actor::internal("cli", "StartImport");
    let job = imports::start(&nexus, &actor, &args.tenant, body, args.dry_run)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(imports::run(
        nexus.clone(),
        ImportConfig::default(),
        stopped,
    ));
    let bar = if args.bar {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}").expect("a template"),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let mut last = String::new();
    let ended = loop {
        let now = imports::get(&nexus, &args.tenant, &job.id)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let line = summary(&now);
        if line != last {
            if args.bar {
                bar.set_message(line.clone());
            } else {
                eprintln!("{line}");
            }
            last = line;
        }
        if now.state.is_final() {
            break now;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    bar.finish_and_clear();
    let _ = stop.send(true);
    let _ = worker.await;
    Ok(ended)
}

/// One line: the state and the counts.
pub fn summary(job: &ImportJob) -> String {
    let p = &job.progress;
    let dry = if job.dry_run { " (dry run)" } else { "" };
    format!(
        "{}{dry}: read {}, created {}, linked {}, unchanged {}, skipped {}, conflicts {}",
        job.state.as_str(),
        p.read,
        p.created,
        p.linked,
        p.unchanged,
        p.skipped,
        p.conflict_count
    )
}
