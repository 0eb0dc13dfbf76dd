//! Where copies are kept: Postgres (`media_blobs`, the default, so the
//! embedded database works alone) or an S3-compatible bucket when
//! `MEDIA_S3_URL` is set. Each row records where its copy went
//! (`record_media.storage`), so changing the setting never strands the
//! copies made before: Postgres copies stay readable either way.

use std::sync::{Arc, OnceLock};

use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};
use sqlx::PgPool;

use crate::config::secrets::MediaS3;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("database error while keeping a photo")]
    Database(#[from] sqlx::Error),
    /// The message names the bucket problem, never the credentials.
    #[error("the media bucket failed: {0}")]
    Bucket(String),
    #[error("this copy is in the media bucket, but MEDIA_S3_URL is not set")]
    NoBucket,
}

/// The store new copies go to. Cheap to clone.
#[derive(Clone, Default)]
pub struct BlobStore {
    s3: Option<Arc<Bucket>>,
}

struct Bucket {
    config: MediaS3,
    /// Built on first use: a wrong setting fails the copies (each with the
    /// reason) rather than the process.
    client: OnceLock<Result<Client, String>>,
}

/// The bucket's client and the key prefix under which copies go.
type Client = (Arc<dyn ObjectStore>, String);

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.s3.is_some() {
            "BlobStore(s3)"
        } else {
            "BlobStore(postgres)"
        })
    }
}

impl BlobStore {
    /// Postgres, or the bucket when one is configured.
    pub fn new(s3: Option<MediaS3>) -> Self {
        Self {
            s3: s3.map(|config| {
                Arc::new(Bucket {
                    config,
                    client: OnceLock::new(),
                })
            }),
        }
    }

    /// `"postgres"` or `"s3"`, as recorded with each copy.
    pub fn kind(&self) -> &'static str {
        if self.s3.is_some() {
            "s3"
        } else {
            "postgres"
        }
    }

    /// Keeps the bytes of copy `id` and marks it stored; `false` when
    /// another worker settled it first. In Postgres the bytes and the state
    /// commit together; in a bucket the object is written first, so a row
    /// never says stored without its object.
    pub async fn put(
        &self,
        pool: &PgPool,
        id: i64,
        content_type: &str,
        data: &[u8],
    ) -> Result<bool, BlobError> {
        if let Some(bucket) = &self.s3 {
            // No transaction is held open during the upload.
            let (client, prefix) = bucket.client()?;
            client
                .put(&object_path(&prefix, id), PutPayload::from(data.to_vec()))
                .await
                .map_err(|err| BlobError::Bucket(describe(&err)))?;
            let mut conn = pool.acquire().await?;
            return Ok(
                super::store::mark_stored(&mut conn, id, content_type, data.len(), "s3").await?,
            );
        }
        let mut tx = pool.begin().await?;
        if !super::store::mark_stored(&mut tx, id, content_type, data.len(), "postgres").await? {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO media_blobs (media_id, bytes) VALUES ($1, $2)
             ON CONFLICT (media_id) DO UPDATE SET bytes = EXCLUDED.bytes",
        )
        .bind(id)
        .bind(data)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Whether new copies can be kept: the bucket takes and deletes a probe
    /// object; Postgres grants this role INSERT on `media_blobs`. The `Ok`
    /// text says where copies go.
    pub async fn probe(&self, pool: &PgPool) -> Result<String, BlobError> {
        if let Some(bucket) = &self.s3 {
            let (client, prefix) = bucket.client()?;
            let path = if prefix.is_empty() {
                ObjectPath::from("doctor-probe")
            } else {
                ObjectPath::from(format!("{prefix}/doctor-probe"))
            };
            client
                .put(&path, PutPayload::from_static(b"flipfix doctor"))
                .await
                .map_err(|err| BlobError::Bucket(describe(&err)))?;
            client
                .delete(&path)
                .await
                .map_err(|err| BlobError::Bucket(describe(&err)))?;
            return Ok(format!(
                "photos are copied to the bucket {} (a probe object was written and deleted)",
                bucket.config.url
            ));
        }
        let writable: bool =
            sqlx::query_scalar("SELECT has_table_privilege('media_blobs', 'INSERT')")
                .fetch_one(pool)
                .await?;
        if writable {
            Ok("photos are copied into Postgres (media_blobs)".into())
        } else {
            Err(BlobError::Bucket(
                "this database role may not INSERT into media_blobs".into(),
            ))
        }
    }

    /// The bytes of a stored copy, from wherever its row says it is.
    pub async fn get(&self, pool: &PgPool, id: i64) -> Result<Option<Vec<u8>>, BlobError> {
        let storage: Option<Option<String>> = sqlx::query_scalar(
            "SELECT storage FROM record_media WHERE id = $1 AND copy_state = 'stored'",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?;
        match storage.flatten().as_deref() {
            None => Ok(None),
            Some("s3") => {
                let Some(bucket) = &self.s3 else {
                    return Err(BlobError::NoBucket);
                };
                let (client, prefix) = bucket.client()?;
                match client.get(&object_path(&prefix, id)).await {
                    Ok(found) => found
                        .bytes()
                        .await
                        .map(|bytes| Some(bytes.to_vec()))
                        .map_err(|err| BlobError::Bucket(describe(&err))),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(err) => Err(BlobError::Bucket(describe(&err))),
                }
            }
            Some(_) => Ok(super::store::bytes(pool, id).await?),
        }
    }
}

impl Bucket {
    fn client(&self) -> Result<Client, BlobError> {
        self.client
            .get_or_init(|| build(&self.config))
            .clone()
            .map_err(BlobError::Bucket)
    }
}

/// `s3://bucket/prefix` → the client and the prefix.
fn build(config: &MediaS3) -> Result<Client, String> {
    let url = url::Url::parse(&config.url)
        .map_err(|_| "MEDIA_S3_URL is not a URL like s3://bucket/prefix".to_string())?;
    if url.scheme() != "s3" {
        return Err("MEDIA_S3_URL must start with s3://".into());
    }
    let bucket = url
        .host_str()
        .filter(|b| !b.is_empty())
        .ok_or("MEDIA_S3_URL names no bucket")?;
    let prefix = url.path().trim_matches('/').to_string();
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(config.region.as_deref().unwrap_or("us-east-1"));
    if let Some(endpoint) = &config.endpoint {
        // Local and self-hosted servers (MinIO, moto) often speak plain
        // http; the operator chose the endpoint.
        builder = builder
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"));
    }
    if let Some(key) = &config.access_key_id {
        builder = builder.with_access_key_id(key.expose());
    }
    if let Some(secret) = &config.secret_access_key {
        builder = builder.with_secret_access_key(secret.expose());
    }
    let client = builder
        .build()
        .map_err(|err| format!("MEDIA_S3_URL cannot be used: {}", describe(&err)))?;
    Ok((Arc::new(client), prefix))
}

fn object_path(prefix: &str, id: i64) -> ObjectPath {
    if prefix.is_empty() {
        ObjectPath::from(format!("media/{id}"))
    } else {
        ObjectPath::from(format!("{prefix}/media/{id}"))
    }
}

/// object_store errors name the operation and the path, not credentials;
/// cut to a line for logs and the row's reason.
fn describe(err: &object_store::Error) -> String {
    err.to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect()
}
