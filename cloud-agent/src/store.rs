//! Where bundles and analyses are kept: `logs/<run_id>/<attempt>/bundle.json`
//! and `analysis.json` in an object store (a local directory by default, given
//! as a path or a `file://` URL; S3 when `CI_MEDIC_STORE=s3://bucket/prefix`).
//!
//! Every object is written whole or not at all (the local store writes a staging
//! file and renames it; an S3 PUT is atomic), and the analysis is written last
//! and only if absent, so a record is visible only once complete and a retried
//! POST finds the first one instead of writing a second.

use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _, PutMode, PutOptions, PutPayload};

/// The store's errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `CI_MEDIC_STORE` is not usable.
    #[error(
        "CI_MEDIC_STORE {value:?}: expected a directory path, file:///absolute/path or s3://bucket[/prefix], {why}"
    )]
    Config {
        /// The value given.
        value: String,
        /// What is wrong with it.
        why: String,
    },
    /// The backend failed.
    #[error("storage: {0}")]
    Backend(#[from] object_store::Error),
}

/// What storing a record did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// The record is new.
    New,
    /// A record for this run and attempt was already there: its analysis.
    Existing(Bytes),
}

/// The record store.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    prefix: Path,
    /// Shown in logs and errors (never credentials).
    pub describe: String,
}

impl Store {
    /// Opens the store `spec` names: `s3://bucket[/prefix]` (credentials, region
    /// and endpoint from the usual `AWS_*` variables) or a local directory, as a
    /// path or a `file://` URL (RFC 8089: `file:///srv/store`, percent-encoded),
    /// created when missing.
    pub fn open(spec: &str) -> Result<Store, StoreError> {
        let config = |why: String| StoreError::Config {
            value: spec.to_owned(),
            why,
        };
        if let Some(rest) = spec.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(config("found no bucket name".into()));
            }
            let s3 = object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .map_err(|e| config(e.to_string()))?;
            return Ok(Store {
                inner: Arc::new(s3),
                prefix: Path::from(prefix.trim_matches('/')),
                describe: spec.to_owned(),
            });
        }
        let dir = if let Some((scheme, _)) = spec.split_once("://") {
            if !scheme.eq_ignore_ascii_case("file") {
                return Err(config(format!("found the scheme {scheme}://")));
            }
            file_url_path(spec).map_err(config)?
        } else {
            std::path::PathBuf::from(spec)
        };
        std::fs::create_dir_all(&dir).map_err(|e| config(format!("cannot create it: {e}")))?;
        let local = object_store::local::LocalFileSystem::new_with_prefix(&dir)
            .map_err(|e| config(e.to_string()))?;
        Ok(Store {
            inner: Arc::new(local),
            prefix: Path::default(),
            describe: spec.to_owned(),
        })
    }

    fn key(&self, run_id: &str, attempt: u32, name: &str) -> Path {
        self.prefix
            .clone()
            .join("logs")
            .join(run_id)
            .join(attempt.to_string())
            .join(name)
    }

    /// Stores a record unless one exists for the run and attempt. `run_id` must
    /// have passed `ci_medic_core::bundle::check_run_id`.
    pub async fn put_record(
        &self,
        run_id: &str,
        attempt: u32,
        bundle: Bytes,
        analysis: Bytes,
    ) -> Result<Stored, StoreError> {
        let analysis_key = self.key(run_id, attempt, "analysis.json");
        if let Some(existing) = self.read(&analysis_key).await? {
            return Ok(Stored::Existing(existing));
        }
        self.inner
            .put(
                &self.key(run_id, attempt, "bundle.json"),
                PutPayload::from(bundle),
            )
            .await?;
        let create = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self
            .inner
            .put_opts(&analysis_key, PutPayload::from(analysis.clone()), create)
            .await
        {
            Ok(_) => Ok(Stored::New),
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => {
                // A concurrent identical POST won the race: answer with its record.
                match self.read(&analysis_key).await? {
                    Some(existing) => Ok(Stored::Existing(existing)),
                    None => Ok(Stored::New),
                }
            }
            Err(object_store::Error::NotImplemented { .. }) => {
                self.inner
                    .put(&analysis_key, PutPayload::from(analysis))
                    .await?;
                Ok(Stored::New)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The stored analysis of one attempt of a run, if any.
    pub async fn analysis(&self, run_id: &str, attempt: u32) -> Result<Option<Bytes>, StoreError> {
        self.read(&self.key(run_id, attempt, "analysis.json")).await
    }

    /// The analysis of the run's latest attempt that has one.
    pub async fn latest_analysis(&self, run_id: &str) -> Result<Option<Bytes>, StoreError> {
        let run = self.prefix.clone().join("logs").join(run_id);
        let listing = self.inner.list_with_delimiter(Some(&run)).await?;
        let mut attempts: Vec<u32> = listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename()?.parse().ok())
            .collect();
        attempts.sort_unstable_by(|a, b| b.cmp(a));
        for attempt in attempts {
            if let Some(bytes) = self
                .read(&self.key(run_id, attempt, "analysis.json"))
                .await?
            {
                return Ok(Some(bytes));
            }
        }
        Ok(None)
    }

    async fn read(&self, key: &Path) -> Result<Option<Bytes>, StoreError> {
        match self.inner.get(key).await {
            Ok(got) => Ok(Some(got.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// The local directory a `file://` URL names: an absolute path on this host
/// (`file:///srv/store` or `file://localhost/srv/store`), percent-decoded.
fn file_url_path(spec: &str) -> Result<std::path::PathBuf, String> {
    let url =
        url::Url::parse(spec).map_err(|e| format!("found a file URL that does not parse: {e}"))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err("found a query or fragment in the file URL".to_owned());
    }
    url.to_file_path().map_err(|()| match url.host_str() {
        Some(host) if !host.is_empty() && host != "localhost" => format!(
            "found the host {host:?} in the file URL (only this machine's paths: file:///path)"
        ),
        _ => "found a file URL without an absolute path".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_url_opens_the_directory_it_names() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("with space");
        let url = format!("file://{}", tmp.path().join("with%20space").display());
        let store = Store::open(&url).expect("file URL");
        assert_eq!(store.describe, url);
        assert!(dir.is_dir(), "created {}", dir.display());
        let localhost = format!("file://localhost{}", tmp.path().join("b").display());
        Store::open(&localhost).expect("file://localhost/path");
        assert!(tmp.path().join("b").is_dir());
    }

    #[test]
    fn other_schemes_and_remote_file_urls_are_refused_by_name() {
        for (spec, why) in [
            ("gs://bucket/p", "found the scheme gs://"),
            ("file://fileserver/share", "found the host \"fileserver\""),
            ("file:///tmp/x?mode=ro", "query or fragment"),
            ("s3://", "found no bucket name"),
        ] {
            let err = Store::open(spec).expect_err(spec).to_string();
            assert!(err.contains(why), "{spec}: {err}");
            assert!(err.contains("file:///absolute/path"), "{spec}: {err}");
        }
    }
}
