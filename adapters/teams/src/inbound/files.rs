//! Files sent in a 1:1 chat arrive as pre-authorised download links that
//! last minutes; they are fetched into the blob store so the ticket keeps
//! them. (Teams delivers no files posted in channels to bots.)

use crate::TeamsAdapter;
use threadesk_core::domain::AttachmentMeta;

/// The largest file fetched.
pub const MAX_FILE_BYTES: u64 = 25 * 1024 * 1024;

impl TeamsAdapter {
    /// The files as ticket attachments in the blob store; the names of
    /// those that could not be fetched come back apart.
    pub(super) async fn fetch_files(
        &self,
        files: &[AttachmentMeta],
    ) -> (Vec<AttachmentMeta>, Vec<String>) {
        let Some(store) = self.inner.blobs.get() else {
            if !files.is_empty() {
                tracing::warn!("no blob store: Teams files are kept as their (short-lived) links");
            }
            return (files.to_vec(), vec![]);
        };
        let (mut kept, mut failed) = (vec![], vec![]);
        for f in files {
            match self.fetch(store, &f.url).await {
                Ok((link, size)) => kept.push(AttachmentMeta {
                    url: link,
                    size_bytes: size,
                    ..f.clone()
                }),
                Err(why) => {
                    tracing::warn!(file = %f.name, why, "teams file not fetched");
                    failed.push(f.name.clone());
                }
            }
        }
        (kept, failed)
    }

    async fn fetch(
        &self,
        store: &threadesk_core::blobs::BlobStore,
        url: &str,
    ) -> Result<(String, u64), String> {
        crate::config::parse_url(url).map_err(|e| e.to_string())?;
        let mut r = self
            .inner
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return Err(format!("HTTP {}", r.status()));
        }
        let mut upload = store.create().await.map_err(|e| e.to_string())?;
        loop {
            match r.chunk().await {
                Ok(Some(chunk)) => {
                    if upload.size + chunk.len() as u64 > MAX_FILE_BYTES {
                        store.discard(upload).await;
                        return Err("too large".into());
                    }
                    if let Err(e) = upload.write(&chunk).await {
                        store.discard(upload).await;
                        return Err(e.to_string());
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    store.discard(upload).await;
                    return Err(e.to_string());
                }
            }
        }
        let size = upload.size;
        let link = store.keep(upload).await.map_err(|e| e.to_string())?;
        Ok((link, size))
    }
}
